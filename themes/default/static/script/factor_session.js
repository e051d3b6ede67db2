/*
 * factor_session.js: the enroll page's other factors ([data-pw-factors]). The account and
 * password typed in the enroll form's account fields ([data-pw-account]) open an enroll
 * session (enroll/start); then each factor's piece enrolls through it (enroll/factor):
 * TotpEnroll and RecoveryCodesEnroll (authenticator.js), PasskeyList (passkeys.js) where
 * the page has them and the site offers them (meta's and the session's `offer`; the section
 * is hidden when it offers none); a piece with an `opened()` is told when a session opens.
 * A session that has run out closes the pieces again: the next click opens a new one.
 *
 * Provides: FactorSession
 * Uses: call, errorLines (relay.js); checkFields, message, text, announceIdle (core.js);
 *       TotpEnroll, RecoveryCodesEnroll (authenticator.js), PasskeyList (passkeys.js);
 *       ERRORS (the contract)
 */

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
      changed: () => {},
    };
    this.instances = [];
    for (const [kind, selector, piece] of FACTOR_PIECES) {
      const el = box.querySelector(selector);
      if (el) {
        this.instances.push({ kind, el, piece: new (piece())(el, host) });
      }
    }
    this.opener.addEventListener("click", () => this.open());
  }

  // Show only the pieces of the kinds in `offer` (all of them when it is not a list: a
  // server that does not say), and the section only if one is left.
  offered(offer) {
    if (!Array.isArray(offer)) {
      return;
    }
    for (const { kind, el } of this.instances) {
      el.hidden = !offer.includes(kind);
    }
    this.box.hidden = this.instances.every(({ el }) => el.hidden);
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
      this.offered(reply.data.offer);
      this.pieces.hidden = false;
      this.opener.parentElement.hidden = true;
      this.pieces.querySelector("section:not([hidden]) button")?.focus();
      for (const { el, piece } of this.instances) {
        if (!el.hidden) {
          piece.opened?.();
        }
      }
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
