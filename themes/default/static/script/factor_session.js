/*
 * factor_session.js: the enroll page's other factors ([data-pw-factors]). The account and
 * password typed in the enroll form's account fields ([data-pw-account]) open an enroll
 * session (enroll/start); then each factor's piece enrolls through it (enroll/factor):
 * TotpEnroll and RecoveryCodesEnroll (authenticator.js), PasskeyList (passkeys.js) where
 * the page has them; a piece with an `opened()` is told when a session opens (the page is
 * idle once what it returns settles). A session that has run out closes the pieces again:
 * the next click opens a new one.
 *
 * Only what the policy asks for: the sections ([data-pw-kind]) of kinds the site does not
 * offer are hidden (from meta's `factors.offer` as the page loads, then from the session's
 * `offer`), except those the user has, to replace or remove; the kinds the session `needs`
 * are marked ([data-pw-needed]) and named in a status line ([data-pw-needs]), which each
 * change's reply (its `needs`) brings up to date.
 *
 * Provides: FactorSession
 * Uses: call, errorLines (relay.js); checkFields, message, text, announceIdle (core.js);
 *       TotpEnroll, RecoveryCodesEnroll (authenticator.js), PasskeyList (passkeys.js);
 *       ERRORS (the contract)
 */

// Each kind's name in the "still needed" line: its section's heading.
const KIND_NAMES = {
  questions: "ENROLL_QUESTIONS",
  totp: "ENROLL_TOTP",
  recovery_code: "ENROLL_RECOVERY_CODES",
  passkey: "UI_PASSKEYS",
};

// Each piece by its kind of factor and its markup; looked up when the page has it.
const FACTOR_PIECES = [
  ["totp", "[data-pw-totp]", () => TotpEnroll],
  ["recovery_code", "[data-pw-recovery-codes]", () => RecoveryCodesEnroll],
  ["passkey", "[data-pw-passkeys]", () => PasskeyList],
];

class FactorSession {
  constructor(flow, box) {
    this.flow = flow;
    this.box = box;
    this.token = null;
    this.account = flow.first.querySelector("[data-pw-account]");
    this.opener = box.querySelector("[data-pw-factors-start]");
    this.pieces = box.querySelector("[data-pw-factors-pieces]");
    const host = {
      act: (action, body) => this.act(action, body),
      error: (lines, field) => flow.showError(lines, field),
      clear: () => flow.clearError(),
      changed: (data) => this.changed(data),
    };
    this.summary = box.querySelector("[data-pw-needs]");
    this.needs = [];
    this.instances = [];
    for (const [kind, selector, piece] of FACTOR_PIECES) {
      const el = box.querySelector(selector);
      if (el) {
        this.instances.push({ kind, el, piece: new (piece())(el, host) });
      }
    }
    this.opener.addEventListener("click", () => this.open());
  }

  // Every kind's section on the page: the pieces here, the questions in the enroll form.
  get sections() {
    return this.flow.card.querySelectorAll("[data-pw-kind]");
  }

  // The page has loaded the site's meta: only the kinds in `offer` are shown (all of them
  // when it is not a list: a server that does not say). With none of this section's kinds
  // on offer, the section goes (unless it is the only way to enroll).
  offered(offer) {
    if (!Array.isArray(offer)) {
      return;
    }
    this.show(offer, []);
    const only = this.flow.first.hasAttribute("data-pw-factors-only");
    if (!only && !this.instances.some(({ kind }) => offer.includes(kind))) {
      this.box.removeAttribute("data-pw-part"); // stays hidden when the form comes back
      this.box.hidden = true;
    }
  }

  // The sections of the kinds offered or held; the questions' are the form's, never hidden.
  show(offer, has) {
    for (const section of this.sections) {
      const kind = section.getAttribute("data-pw-kind");
      if (kind !== "questions") {
        section.hidden = !offer.includes(kind) && !has.includes(kind);
      }
    }
    this.held(has);
  }

  // What each section says (and offers to remove) about a kind the user has.
  held(has) {
    for (const section of this.sections) {
      const kind = section.getAttribute("data-pw-kind");
      for (const el of section.querySelectorAll("[data-pw-has]")) {
        el.hidden = !has.includes(kind);
      }
    }
  }

  // Marks the kinds still needed, and says which (or that nothing is left).
  mark(needs) {
    const before = this.needs;
    this.needs = needs.filter((kind) => KIND_NAMES[kind]);
    for (const section of this.sections) {
      const needed = this.needs.includes(section.getAttribute("data-pw-kind"));
      section.classList.toggle("pw-factor--needed", needed);
      const badge = section.querySelector("[data-pw-needed]");
      if (badge) {
        badge.hidden = !needed;
      }
    }
    if (!this.needs.length && !before.length) {
      this.summary.hidden = true;
      this.summary.textContent = "";
      return;
    }
    const names = this.needs.map((kind) => message(KIND_NAMES[kind]) || kind);
    const lang = document.documentElement.lang || "en";
    const listed = new Intl.ListFormat(lang, { type: "conjunction" }).format(names);
    this.summary.textContent = names.length
      ? message("ENROLL_NEEDS", [listed])
      : message("ENROLL_NEEDS_MET");
    this.summary.classList.toggle("pw-needs--met", !names.length);
    this.summary.hidden = false;
  }

  // A piece's reply after a change: the kinds the user has now, and what is still needed.
  changed(data) {
    if (data && Array.isArray(data.factors)) {
      this.held(data.factors);
    }
    if (data && Array.isArray(data.needs)) {
      this.mark(data.needs);
    }
  }

  async open() {
    this.flow.clearError();
    const problem = checkFields(this.account);
    if (problem) {
      const [id, field, values] = problem;
      this.flow.showError([message(id, values) || id], field);
      announceIdle();
      return;
    }
    const fields = this.account.elements;
    const body = { lang: document.documentElement.lang || "en" };
    for (const name of ["domain", "username", "password"]) {
      const field = fields.namedItem(name);
      body[name] = field.type === "password" ? field.value : text(field.value);
    }
    this.opener.disabled = true;
    const reply = await call("POST", `${this.flow.endpoint}/start`, body);
    this.opener.disabled = false;
    if (reply.ok && reply.data && typeof reply.data.enroll === "string") {
      this.token = reply.data.enroll;
      const list = (name) => (Array.isArray(reply.data[name]) ? reply.data[name] : []);
      this.show(list("offer"), list("has"));
      this.needs = [];
      this.mark(list("needs"));
      this.pieces.hidden = false;
      this.opener.parentElement.hidden = true;
      this.pieces.querySelector("section:not([hidden]) button")?.focus();
      // What the pieces load when a session opens (the passkey list) is part of opening:
      // the page is settled (idle) only once it is shown.
      const loading = this.instances.filter(({ el }) => !el.hidden);
      await Promise.allSettled(loading.map(async ({ piece }) => piece.opened?.()));
    } else {
      this.flow.showError(errorLines(reply.data), fields.namedItem("password"));
    }
    announceIdle();
  }

  async act(action, body) {
    const lang = document.documentElement.lang || "en";
    const reply = await call("POST", `${this.flow.endpoint}/factor`, {
      ...body,
      enroll: this.token,
      action,
      lang,
    });
    if (reply.data?.message === ERRORS.session_expired.message) {
      this.token = null;
      this.pieces.hidden = true;
      this.opener.parentElement.hidden = false;
    }
    return reply;
  }
}
