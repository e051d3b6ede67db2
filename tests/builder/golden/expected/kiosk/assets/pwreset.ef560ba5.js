/*
 * pwreset page script, bundled by `pwreset build`: the contract (generated), then the
 * modules of static/script/: core.js, language.js, relay.js, passkeys.js, questions.js, password_rules.js, authenticator.js, factor_session.js, flow.js, startup.js.
 * Override one module with a file of the same name in a layer (docs/themes.md).
 */
(() => {
"use strict";

/* --- contract: generated from pwreset.protocol (limits.py, codes.py) --- */
// The most characters each field of a request may hold.
const FIELD_LIMITS = Object.freeze({
  "domain": 255,
  "username": 256,
  "old_password": 512,
  "new_password": 512,
  "password": 512,
  "email": 254,
  "lang": 16,
  "flow": 2048,
  "answer": 256,
  "code": 32,
  "question": 64,
  "upn": 512,
  "factor": 32,
  "enroll": 2048,
  "action": 64,
  "name": 64,
  "credential_id": 1024,
  "pending": 256,
  "credential": 16384
});
// The most questions a site asks at enrollment.
const MAX_QUESTIONS = 10;
// Every error code: the message id the page shows, and the relay's HTTP status.
const ERRORS = Object.freeze({
  "bad_request": {"message": "RES_BAD_REQUEST", "status": 400},
  "empty_field": {"message": "RES_EMPTY_FIELD", "status": 400},
  "field_too_long": {"message": "RES_FIELD_TOO_LONG", "status": 400},
  "invalid_characters": {"message": "RES_INVALID_CHARACTERS", "status": 400},
  "unknown_site": {"message": "RES_UNKNOWN_SITE", "status": 404},
  "flow_disabled": {"message": "RES_FLOW_DISABLED", "status": 403},
  "unknown_domain": {"message": "RES_UNKNOWN_DOMAIN", "status": 400},
  "request_too_large": {"message": "RES_BAD_REQUEST", "status": 413},
  "rate_limited": {"message": "RES_RATE_LIMITED", "status": 429},
  "https_required": {"message": "RES_HTTPS_REQUIRED", "status": 403},
  "wrong_password": {"message": "RES_WRONG_PASSWORD", "status": 401},
  "password_too_short": {"message": "RES_POLICY_TOO_SHORT", "status": 422},
  "password_in_history": {"message": "RES_POLICY_HISTORY", "status": 422},
  "password_complexity": {"message": "RES_POLICY_COMPLEXITY", "status": 422},
  "password_too_young": {"message": "RES_POLICY_TOO_YOUNG", "status": 422},
  "password_rejected": {"message": "RES_POLICY_REJECTED", "status": 422},
  "password_rule": {"message": "RES_PASSWORD_RULE", "status": 422},
  "account_locked": {"message": "RES_LOCKED_OUT_AD", "status": 423},
  "account_disabled": {"message": "RES_ACCOUNT_DISABLED", "status": 403},
  "not_permitted": {"message": "RES_NOT_PERMITTED", "status": 403},
  "directory_unreachable": {"message": "RES_DIRECTORY_UNREACHABLE", "status": 502},
  "directory_refused": {"message": "RES_DIRECTORY_REFUSED", "status": 502},
  "identical_questions": {"message": "RES_IDENTICAL_QUESTIONS", "status": 400},
  "unknown_question": {"message": "RES_UNKNOWN_QUESTION", "status": 400},
  "own_question_required": {"message": "RES_OWN_QUESTION_REQUIRED", "status": 400},
  "answer_too_short": {"message": "RES_ANSWER_TOO_SHORT", "status": 400},
  "invalid_email": {"message": "RES_INVALID_EMAIL", "status": 400},
  "wrong_answer": {"message": "RES_WRONG_ANSWER", "status": 401},
  "wrong_code": {"message": "RES_WRONG_CODE", "status": 401},
  "code_expired": {"message": "RES_CODE_EXPIRED", "status": 401},
  "code_dead": {"message": "RES_CODE_DEAD", "status": 401},
  "code_not_sent": {"message": "RES_CODE_NOT_SENT", "status": 503},
  "passkey_refused": {"message": "RES_PASSKEY_REFUSED", "status": 401},
  "passkey_invalid": {"message": "RES_PASSKEY_INVALID", "status": 422},
  "passkey_unknown": {"message": "RES_PASSKEY_UNKNOWN", "status": 404},
  "passkey_limit": {"message": "RES_PASSKEY_LIMIT", "status": 422},
  "passkey_unavailable": {"message": "RES_PASSKEY_UNAVAILABLE", "status": 403},
  "locked_out": {"message": "RES_LOCKED_OUT", "status": 423},
  "recovery_limit": {"message": "RES_RECOVERY_LIMIT", "status": 429},
  "session_expired": {"message": "RES_SESSION_EXPIRED", "status": 410},
  "api_disabled": {"message": "RES_API_DISABLED", "status": 403},
  "factor_not_offered": {"message": "RES_FACTOR_NOT_OFFERED", "status": 403},
  "policy_not_met": {"message": "RES_POLICY_NOT_MET", "status": 403},
  "self_service_blocked": {"message": "RES_SELF_SERVICE_BLOCKED", "status": 403},
  "server_unreachable": {"message": "RES_REQUEST_FAILED", "status": 503},
  "server_error": {"message": "RES_SERVER_ERROR", "status": 500},
  "storage_full": {"message": "RES_STORAGE_FULL", "status": 503}
});

/* --- password rules: pwreset/server/passwords/policy_check.js --- */
// The page's half of pwreset.server.passwords.rules: which rules of a policy (as `meta` or
// the password step carries it) a password breaks, among those the page can check
// ("checked_by": "page"). The server checks every rule again; tests compare the two halves.
// `username` is the account name the user typed, for the names rule before the server has
// listed the user's own names (in `meta`).
function pwresetBrokenRules(policy, password, username) {
  const classOf = (c) =>
    /\p{Ll}/u.test(c) ? "lower"
    : /\p{Lu}/u.test(c) ? "upper"
    : /\p{Nd}/u.test(c) ? "digit"
    : /\p{L}/u.test(c) ? "letter"
    : "symbol";
  const chars = Array.from(password);
  const lowered = password.toLowerCase();
  const checks = {
    min_length: (p) => chars.length >= p.n,
    char_classes: (p) => new Set(chars.map(classOf)).size >= p.n,
    user_names: (p) => {
      const tokens = [...p.tokens];
      if (username && Array.from(username).length >= p.min_token) {
        tokens.push(username.toLowerCase());
      }
      return !tokens.some((token) => lowered.includes(token));
    },
    forbidden_words: (p) => !p.words.some((word) => lowered.includes(word)),
  };
  return policy.rules.filter((rule) => rule.checked_by === "page" && !checks[rule.id](rule.params));
}

/* --- script/core.js --- */
/*
 * core.js: what the other modules share: the page's texts by message id, the form helpers,
 * and the "pwreset:idle" event. Everything page-specific is in the markup:
 *
 *   <html lang>, <link rel=alternate hreflang>  this page's language and its other languages
 *   <meta name="pwreset-api">                   the API base the calls go to
 *   [data-pw-flow] card     data-endpoint (API path), data-finished-default (message id),
 *                           data-stop / data-restart (replies that end the flow / start over)
 *   form[data-pw-step]      "form" (one-step flows), "identify", "question", "code", "password";
 *                           data-post: the path after the endpoint ("start", "step")
 *   fields                  data-empty, data-match + data-mismatch, data-email, data-local
 *   [data-show-for="IDS"]   shown only when the flow ends with one of those message ids
 *   [data-pw-carry]         links that get ?username=&domain= of the user added
 *   #pw-messages            the texts, <p data-msg="RES_...">text</p>
 *
 * After each settled action the document gets a "pwreset:idle" event (tests and the state
 * gallery wait for it).
 *
 * Provides: PREFILL, message, text, words, alphanumericCount, announceIdle, fieldsOf,
 *           firstField, prefill, checkFields
 * Uses: FIELD_LIMITS (the contract, generated by the build)
 */

const MESSAGE_ID = /^[A-Z][A-Z0-9_]*$/;
// The account fields a deep link fills in and a finished flow carries to the next one.
const PREFILL = ["username", "domain"];

const ALPHANUMERIC = (() => {
  try {
    return new RegExp("[\\p{L}\\p{N}]", "gu");
  } catch (e) {
    return /[A-Za-z0-9\u00C0-\u024F]/g; // browsers without Unicode property escapes
  }
})();

// The page's own text for a message id with %1, %2 filled from `values` (a placeholder
// with nothing to fill is dropped, with the parentheses around it); null for unknown ids.
const message = (id, values) => {
  if (typeof id !== "string" || !MESSAGE_ID.test(id)) {
    return null;
  }
  const node = document.querySelector(`#pw-messages [data-msg="${id}"]`);
  if (!node) {
    return null;
  }
  const fill = values || [];
  return node.textContent.trim().replace(/\s*\(%(\d)\)|\s*%(\d)/g, (all, inParens, bare) => {
    const value = fill[Number(inParens || bare) - 1];
    if (value === undefined || value === null || value === "") {
      return "";
    }
    return all.replace(`%${inParens || bare}`, String(value));
  });
};

const text = (value) => (typeof value === "string" ? value.trim() : "");

const words = (value) => (value || "").split(/\s+/).filter(Boolean);

const alphanumericCount = (value) => (value.match(ALPHANUMERIC) || []).length;

const announceIdle = () => {
  document.dispatchEvent(new CustomEvent("pwreset:idle"));
};

/* --- forms ------------------------------------------------------------------------------ */

const fieldsOf = (form) =>
  Array.from(form.elements).filter(
    (el) => el.name && !el.disabled && (el.tagName === "INPUT" || el.tagName === "SELECT")
  );

const firstField = (form) => fieldsOf(form).find((el) => el.type !== "hidden") || null;

// The account fields from the page's ?username=&domain=, cut to what the relay accepts.
const prefill = (form) => {
  const query = new URLSearchParams(window.location.search);
  for (const name of PREFILL) {
    const field = form.elements.namedItem(name);
    let value = query.get(name);
    if (!value || !field || field.tagName === undefined) {
      continue;
    }
    value = value.slice(0, FIELD_LIMITS[name]);
    if (field.tagName === "SELECT") {
      // Only a domain the site offers can be chosen; the match ignores case.
      for (const option of field.options) {
        if (option.value.toLowerCase() === value.toLowerCase()) {
          field.value = option.value;
        }
      }
    } else {
      field.value = value;
    }
  }
};

// The first problem of a form's own fields, in field order: [message id, field, values].
const checkFields = (form) => {
  for (const field of fieldsOf(form)) {
    const value = field.type === "password" ? field.value : text(field.value);
    const empty = field.getAttribute("data-empty");
    const other = document.getElementById(field.getAttribute("data-match") || "");
    const email = field.getAttribute("data-email");
    if (empty && !value) {
      return [empty, field];
    }
    if (other && field.value !== other.value) {
      return [field.getAttribute("data-mismatch"), field];
    }
    if (email && value && !/^[^\s@]+@[^\s@]+$/.test(value)) {
      return [email, field];
    }
  }
  return null;
};

/* --- script/language.js --- */
/*
 * language.js: which language the page shows: the switch (remembered), then ?lang=, then
 * the browser's languages; the page in another language is another file (hreflang links).
 *
 * Provides: chooseLanguage, watchLanguageSwitch
 */

const LANGUAGE_KEY = "pwreset.lang";

// The remembered choice; with `tag`, remember that one first.
const storedLanguage = (tag) => {
  try {
    if (tag) {
      window.localStorage.setItem(LANGUAGE_KEY, tag);
    }
    return window.localStorage.getItem(LANGUAGE_KEY);
  } catch (e) {
    return null; // storage blocked: the choice lasts for this page only
  }
};

const offeredLanguages = () => {
  const offered = {};
  for (const link of document.querySelectorAll('link[rel="alternate"][hreflang]')) {
    offered[link.getAttribute("hreflang").toLowerCase()] = link.getAttribute("href");
  }
  return offered;
};

// The offered tag for a wanted one: the same tag, else the same language ("de-CH" -> "de").
const matchLanguage = (wanted, offered) => {
  if (typeof wanted !== "string" || !wanted) {
    return null;
  }
  const tag = wanted.toLowerCase();
  if (offered[tag] !== undefined) {
    return tag;
  }
  const base = tag.split("-")[0];
  return Object.keys(offered).find((t) => t === base || t.split("-")[0] === base) || null;
};

// True when the page is being replaced by its version in the wanted language.
const chooseLanguage = () => {
  const offered = offeredLanguages();
  if (!Object.keys(offered).length) {
    return false;
  }
  const browser = navigator.languages?.length
    ? Array.from(navigator.languages)
    : [navigator.language];
  const wanted = [storedLanguage(), new URLSearchParams(window.location.search).get("lang"),
    ...browser];
  const current = document.documentElement.lang.toLowerCase();
  for (const candidate of wanted) {
    const tag = matchLanguage(candidate, offered);
    if (tag) {
      if (tag === current) {
        return false;
      }
      const { search, hash } = window.location;
      window.location.replace(offered[tag] + search + hash);
      return true;
    }
  }
  return false;
};

const watchLanguageSwitch = () => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest("a[data-pw-lang]") : null;
    if (link) {
      storedLanguage(link.getAttribute("data-pw-lang"));
      // The same page in the other language, with the same deep-link fields.
      link.setAttribute("href", link.getAttribute("href").split("?")[0] + window.location.search);
    }
  });
};

/* --- script/relay.js --- */
/*
 * relay.js: the JSON calls to the relay, and what an error reply means for the user.
 *
 * Provides: call, errorLines
 * Uses: message, text (core.js); ERRORS (the contract, generated by the build)
 */

const TIMEOUT_MS = 30000;

const apiBase = () => {
  const meta = document.querySelector('meta[name="pwreset-api"]');
  return (meta?.getAttribute("content") || "").replace(/\/+$/, "");
};

// Resolves to {ok, data}; data is null when the reply is not JSON (or never came).
const call = async (method, path, body) => {
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), TIMEOUT_MS);
  const options = {
    method,
    headers: { Accept: "application/json, application/problem+json" },
    credentials: "same-origin",
    cache: "no-store",
    referrerPolicy: "no-referrer",
    signal: controller.signal,
  };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(`${apiBase()}/${path}`, options);
    try {
      return { ok: response.ok, data: await response.json() };
    } catch (e) {
      return { ok: response.ok, data: null };
    }
  } catch (e) {
    return { ok: false, data: null };
  } finally {
    window.clearTimeout(timer);
  }
};

// What an error reply means for the user: the page's text for `message` with its
// positional values, the directory's own reason after it, or the reply's `detail` when
// the id is not one this page knows.
const errorLines = (data) => {
  if (!data || typeof data !== "object") {
    return [message(ERRORS.server_unreachable.message)];
  }
  const params = data.params && typeof data.params === "object" ? data.params : {};
  let main = message(data.message, [text(params["1"]) || text(params.server), text(params["2"])]);
  if (main === null) {
    main = text(data.detail) || message(ERRORS.server_error.message);
  }
  const lines = [main];
  const reason = text(params.reason);
  if (reason) {
    lines.push(message("RES_DIRECTORY_REASON", [reason]) || reason);
  }
  return lines;
};

/* --- script/passkeys.js --- */
/*
 * passkeys.js: WebAuthn in the page. The server's options (JSON, base64url for bytes) become
 * what navigator.credentials takes, and the credential it returns becomes JSON again, which
 * the relay passes to the server unchanged: the page never judges a passkey itself.
 *
 * Provides: passkeyCreate, passkeyGet (each resolves to {credential} or {problem: message id}),
 *           PasskeyList (the enroll page's passkeys)
 * Uses: message, text, announceIdle (core.js); FIELD_LIMITS; errorLines (relay.js)
 */

const fromBase64url = (value) => {
  const base64 = value.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
};

const toBase64url = (buffer) => {
  let binary = "";
  for (const byte of new Uint8Array(buffer)) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

const withIds = (list) => (list || []).map((c) => ({ ...c, id: fromBase64url(c.id) }));

const creationOptions = (json) => ({
  ...json,
  challenge: fromBase64url(json.challenge),
  user: { ...json.user, id: fromBase64url(json.user.id) },
  excludeCredentials: withIds(json.excludeCredentials),
});

const requestOptions = (json) => ({
  ...json,
  challenge: fromBase64url(json.challenge),
  allowCredentials: withIds(json.allowCredentials),
});

// The credential as JSON (WebAuthn's RegistrationResponseJSON / AuthenticationResponseJSON).
const credentialJson = (credential) => {
  const r = credential.response;
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
  } else {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    if (r.userHandle) {
      response.userHandle = toBase64url(r.userHandle);
    }
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
};

// Why the browser gave no passkey, as a message the page shows.
const passkeyProblem = (error) => {
  const name = error && error.name;
  if (name === "InvalidStateError") {
    return "RES_PASSKEY_INVALID"; // this authenticator holds one of the user's passkeys already
  }
  if (name === "SecurityError") {
    return "RES_PASSKEY_UNAVAILABLE"; // the site's relying party does not fit this address
  }
  if (name === "NotSupportedError") {
    return "RES_PASSKEY_UNSUPPORTED";
  }
  return "RES_PASSKEY_CANCELLED"; // NotAllowedError: closed, refused or timed out
};

const passkeyCall = async (make) => {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return { problem: "RES_PASSKEY_UNSUPPORTED" };
  }
  try {
    const credential = await make();
    return credential ? { credential: credentialJson(credential) } : { problem: "RES_PASSKEY_CANCELLED" };
  } catch (error) {
    return { problem: passkeyProblem(error) };
  }
};

const passkeyCreate = (options) =>
  passkeyCall(() => navigator.credentials.create({ publicKey: creationOptions(options) }));

const passkeyGet = (options) =>
  passkeyCall(() => navigator.credentials.get({ publicKey: requestOptions(options) }));

/*
 * The enroll page's passkeys ([data-pw-passkeys]): the list with a rename and a remove
 * button each (renaming turns the row into a small form), and a name and a button to add
 * one. Its enroll actions go through `host`, which the enroll page gives it (as to
 * authenticator.js): host.act(action, body) resolves to {ok, data}; host.error(lines)
 * shows an error, host.clear() hides it; host.changed(data) gets the reply after a passkey
 * was added or removed (a rename changes no kind).
 */
class PasskeyList {
  constructor(box, host) {
    this.box = box;
    this.host = host;
    this.list = box.querySelector("[data-pw-passkey-list]");
    this.none = box.querySelector("[data-pw-passkey-none]");
    this.name = box.querySelector("[data-pw-passkey-name]");
    this.add = box.querySelector("[data-pw-passkey-add]");
    this.status = box.querySelector("[data-pw-passkey-status]");
    this.add.addEventListener("click", () => this.create());
  }

  // Shows the list (from `passkey.list`, or the reply of an addition, a renaming or a
  // removal).
  show(data) {
    const passkeys = data && Array.isArray(data.passkeys) ? data.passkeys : [];
    this.shown = passkeys;
    this.list.textContent = "";
    for (const passkey of passkeys) {
      const item = document.createElement("li");
      item.className = "pw-passkey";
      item.dataset.pwPasskeyId = passkey.id;
      const name = document.createElement("span");
      name.className = "pw-passkey__name";
      name.dir = "auto";
      name.textContent = text(passkey.name);
      const actions = document.createElement("span");
      actions.className = "pw-passkey__actions";
      const rename = this.button("UI_PASSKEY_RENAME", [text(passkey.name)]);
      rename.dataset.pwPasskeyRename = "";
      rename.addEventListener("click", () => this.editName(passkey, item));
      const remove = this.button("UI_PASSKEY_REMOVE", [text(passkey.name)]);
      remove.dataset.pwPasskeyRemove = "";
      remove.addEventListener("click", () => this.remove(passkey.id, remove));
      actions.append(rename, remove);
      item.append(name, actions);
      this.list.appendChild(item);
    }
    this.list.hidden = passkeys.length === 0;
    this.none.hidden = passkeys.length > 0;
  }

  button(id, values, type = "button") {
    const button = document.createElement("button");
    button.type = type;
    button.className = "pw-button pw-button--secondary";
    button.textContent = message(id, values);
    return button;
  }

  // The row of `id` was drawn again: its rename button takes the focus back.
  focusRename(id) {
    const item = Array.from(this.list.children).find((li) => li.dataset.pwPasskeyId === id);
    const button = item && item.querySelector("[data-pw-passkey-rename]");
    (button || this.add).focus();
  }

  // The row becomes a form for the new name: Enter (or the save button) stores it, Escape
  // (or cancel) puts the row back as it was.
  editName(passkey, item) {
    this.host.clear();
    this.said("");
    const form = document.createElement("form");
    form.className = "pw-passkey__rename";
    form.noValidate = true;
    form.dataset.pwPasskeyRenameForm = "";
    const field = `pw-passkey-rename-${Array.from(this.list.children).indexOf(item)}`;
    const label = document.createElement("label");
    label.className = "pw-label";
    label.htmlFor = field;
    label.textContent = message("UI_PASSKEY_NEW_NAME", [text(passkey.name)]);
    const input = document.createElement("input");
    input.className = "pw-input";
    input.id = field;
    input.name = "name";
    input.type = "text";
    input.dir = "auto";
    input.autocomplete = "off";
    input.required = true;
    input.maxLength = FIELD_LIMITS.name;
    input.value = text(passkey.name);
    const save = this.button("UI_PASSKEY_SAVE_NAME", [], "submit");
    const cancel = this.button("UI_PASSKEY_CANCEL", []);
    const back = () => {
      if (save.disabled) {
        return; // a save is on its way: its reply redraws the row
      }
      this.host.clear();
      this.show({ passkeys: this.shown });
      this.focusRename(passkey.id);
      announceIdle();
    };
    cancel.addEventListener("click", back);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        back();
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.rename(passkey, input, save, cancel);
    });
    const actions = document.createElement("span");
    actions.className = "pw-passkey__actions";
    actions.append(save, cancel);
    form.append(label, input, actions);
    item.replaceChildren(form);
    input.focus();
    input.select();
    announceIdle();
  }

  async rename(passkey, input, save, cancel) {
    if (save.disabled) {
      return;
    }
    this.host.clear();
    const name = text(input.value);
    if (!name) {
      this.host.error([message("RES_EMPTY_FIELD_NAME")], input);
      announceIdle();
      return;
    }
    const busy = [input, save, cancel];
    busy.forEach((el) => (el.disabled = true));
    const reply = await this.host.act("passkey.rename", { credential_id: passkey.id, name });
    if (reply.ok) {
      this.show(reply.data);
      this.said("RES_PASSKEY_RENAMED");
      this.focusRename(passkey.id);
    } else if (reply.data?.code === "passkey_unknown") {
      // Removed elsewhere since the list was drawn: the list as it is now, and why.
      busy.forEach((el) => (el.disabled = false));
      await this.load();
      this.host.error(errorLines(reply.data));
    } else {
      busy.forEach((el) => (el.disabled = false));
      this.host.error(errorLines(reply.data), input);
    }
    announceIdle();
  }

  // A session opened: the user's passkeys as they are.
  opened() {
    return this.load();
  }

  async load() {
    const reply = await this.host.act("passkey.list", {});
    if (reply.ok) {
      this.show(reply.data);
    } else {
      this.host.error(errorLines(reply.data));
    }
  }

  said(id) {
    this.status.textContent = id ? message(id) || "" : "";
  }

  async create() {
    this.host.clear();
    this.said("");
    this.add.disabled = true;
    try {
      const begun = await this.host.act("passkey.begin", {});
      if (!begun.ok) {
        this.host.error(errorLines(begun.data));
        return;
      }
      const made = await passkeyCreate(begun.data.options);
      if (made.problem) {
        this.host.error([message(made.problem)]);
        return;
      }
      const body = { credential: made.credential };
      if (text(this.name.value)) {
        body.name = text(this.name.value);
      }
      const finished = await this.host.act("passkey.finish", body);
      if (!finished.ok) {
        this.host.error(errorLines(finished.data));
        return;
      }
      this.name.value = "";
      this.show(finished.data);
      this.said("RES_PASSKEY_ADDED");
      this.host.changed(finished.data);
    } finally {
      this.add.disabled = false;
      announceIdle();
    }
  }

  async remove(id, button) {
    this.host.clear();
    this.said("");
    button.disabled = true;
    const reply = await this.host.act("passkey.remove", { credential_id: id });
    if (reply.ok) {
      this.show(reply.data);
      this.said("RES_PASSKEY_REMOVED");
      this.add.focus(); // the removed row's button is gone
      this.host.changed(reply.data);
    } else {
      button.disabled = false;
      this.host.error(errorLines(reply.data));
    }
    announceIdle();
  }
}

/* --- script/questions.js --- */
/*
 * questions.js: the enroll page's question blocks, built from the server's settings
 * ({api}/meta), their checks and the answers they send.
 *
 * Provides: Questions
 * Uses: message, text, alphanumericCount (core.js); FIELD_LIMITS, MAX_QUESTIONS, ERRORS
 *       (the contract, generated by the build)
 */

class Questions {
  constructor(form) {
    this.form = form;
    this.box = form.querySelector("[data-pw-questions]");
    this.template = document.getElementById("pw-question-template");
    this.minimum = 1;
    this.listed = new Set(); // every language's list, when some questions must be typed
  }

  build(meta) {
    const enroll = meta?.enroll || {};
    const count = Math.min(Math.max(parseInt(enroll.questions, 10) || 3, 1), MAX_QUESTIONS);
    const lang = document.documentElement.lang;
    const lists = enroll.question_list || {};
    const list = lists[lang] || lists[lang.split("-")[0]] || lists.en || [];
    // true or false for all questions, or one per question (apr checklist 28).
    const custom = enroll.custom_questions;
    const perQuestion = Array.isArray(custom);
    this.listed = new Set(perQuestion ? Object.values(lists).flat().map(String) : []);
    const maxLength = parseInt(enroll.max_question_length, 10) || FIELD_LIMITS.question;
    this.minimum = Math.max(parseInt(enroll.min_answer_chars, 10) || 1, 1);
    this.box.textContent = "";
    for (let n = 1; n <= count; n += 1) {
      const own = Boolean(perQuestion ? custom[n - 1] : custom);
      this.box.appendChild(this.block(n, list, own, maxLength));
    }
    this.box.removeAttribute("aria-busy");
    this.email(enroll.email);
  }

  block(n, list, own, maxLength) {
    const block = this.template.content.firstElementChild.cloneNode(true);
    const select = block.querySelector("select");
    const typed = block.querySelector("[data-pw-question-own]");
    const answer = block.querySelector('input[name="answer"]');
    const question = own ? typed : select;
    const questionLabel = block.querySelector("[data-pw-question-label]");
    const answerLabel = block.querySelector("[data-pw-answer-label]");
    const hint = block.querySelector("[data-pw-answer-hint]");
    question.id = `pw-question-${n}`;
    questionLabel.id = `${question.id}-label`;
    questionLabel.setAttribute("for", question.id);
    questionLabel.textContent =
      message(own ? "UI_QUESTION_OWN" : "UI_QUESTION", [n]) + (own ? ` ${n}` : "");
    answer.id = `pw-answer-${n}`;
    answerLabel.id = `${answer.id}-label`;
    answerLabel.setAttribute("for", answer.id);
    answerLabel.textContent = message("UI_ANSWER");
    answer.setAttribute("aria-labelledby", `${answerLabel.id} ${questionLabel.id}`);
    hint.id = `${answer.id}-hint`;
    hint.textContent = message("UI_ANSWER_HINT", [this.minimum]);
    answer.setAttribute("aria-describedby", hint.id);
    if (own) {
      block.querySelector("[data-pw-question-select]").hidden = true;
      select.disabled = true;
      typed.hidden = false;
      typed.disabled = false;
      typed.maxLength = maxLength;
    } else {
      const choose = document.createElement("option");
      choose.value = "";
      choose.textContent = message("UI_QUESTION_CHOOSE");
      select.appendChild(choose);
      for (const entry of list) {
        const option = document.createElement("option");
        option.value = option.textContent = String(entry);
        select.appendChild(option);
      }
    }
    return block;
  }

  email(mode) {
    const wrap = this.form.querySelector("[data-pw-email]");
    if (!wrap || (mode !== "optional" && mode !== "required")) {
      return;
    }
    const field = wrap.querySelector("input");
    const label = wrap.querySelector("label");
    field.disabled = false;
    wrap.hidden = false;
    label.textContent = label.getAttribute(
      mode === "required" ? "data-label-required" : "data-label-optional"
    );
    if (mode === "required") {
      field.required = true;
      field.setAttribute("data-empty", "RES_EMPTY_FIELD_EMAIL");
    }
  }

  entries() {
    return Array.from(this.box.querySelectorAll("[data-pw-question]"), (block) => ({
      question: block.querySelector('[name="question"]:not([disabled])'),
      typed: block.querySelector("[data-pw-question-own]:not([disabled])") !== null,
      answer: block.querySelector('[name="answer"]'),
    }));
  }

  // Every question chosen and none twice, then every answer long enough (letters and
  // digits only): the questions first, as users pick all of them before answering.
  check() {
    const entries = this.entries();
    for (const [i, entry] of entries.entries()) {
      const chosen = text(entry.question.value);
      if (!chosen) {
        return ["RES_EMPTY_FIELD_QUESTION", entry.question, [i + 1]];
      }
      const same = entries
        .slice(0, i)
        .findIndex((earlier) => text(earlier.question.value).toLowerCase() === chosen.toLowerCase());
      if (same >= 0) {
        return [ERRORS.identical_questions.message, entry.question, [same + 1, i + 1]];
      }
      if (entry.typed && this.listed.has(chosen)) {
        return [ERRORS.own_question_required.message, entry.question, [i + 1]];
      }
    }
    for (const [i, entry] of entries.entries()) {
      if (alphanumericCount(entry.answer.value) < this.minimum) {
        return [ERRORS.answer_too_short.message, entry.answer, [i + 1, this.minimum]];
      }
    }
    return null;
  }

  answers() {
    return this.entries().map((entry) => ({
      question: text(entry.question.value),
      answer: text(entry.answer.value),
    }));
  }
}

/* --- script/password_rules.js --- */
/*
 * password_rules.js: the password rules above a new password (reset's password step,
 * change), from the policy the server sends (the step's `policy`, meta's `password_policy`),
 * each ticked off as the user types. A change of state is also said in a status line, so a
 * screen reader hears it; met or not shows as text and a mark, never by colour alone.
 *
 * Provides: PasswordRules
 * Uses: message (core.js); pwresetBrokenRules (the server's policy_check.js, bundled by the
 *       build)
 */

// The version of the policy's shape this script reads (pwreset.server.passwords.policy).
const POLICY_VERSION = 1;

// A rule's text: its message with the rule's parameters as %1, %2 (lists joined).
const ruleText = (rule) => {
  const values = Object.values(rule.params || {}).map((value) =>
    Array.isArray(value) ? value.join(", ") : value,
  );
  return message(rule.message, values);
};

class PasswordRules {
  constructor(form) {
    this.box = form.querySelector("[data-pw-policy]");
    this.list = this.box.querySelector("[data-pw-rules]");
    this.status = this.box.querySelector("[data-pw-rules-status]");
    this.password = form.elements.namedItem("new_password");
    // Change asks for the account name on the same form: the names rule looks for it.
    this.username = form.elements.namedItem("username");
    this.policy = null;
    this.items = {};
    for (const field of [this.password, this.username]) {
      field?.addEventListener("input", () => this.update(true));
    }
  }

  show(policy) {
    const usable =
      policy && typeof policy === "object" && policy.version === POLICY_VERSION &&
      Array.isArray(policy.rules);
    this.policy = usable ? policy : null;
    this.list.textContent = "";
    this.status.textContent = "";
    this.items = {};
    for (const rule of usable ? policy.rules : []) {
      const label = ruleText(rule);
      if (!label) {
        continue; // a rule this page has no text for
      }
      const item = document.createElement("li");
      item.className = "pw-rule";
      item.setAttribute("data-rule", rule.id);
      const words = document.createElement("span");
      words.className = "pw-rule__text";
      words.textContent = label;
      item.appendChild(words);
      if (rule.checked_by === "page") {
        const state = document.createElement("span");
        state.className = "pw-rule__state";
        item.appendChild(state);
      }
      this.items[rule.id] = item;
      this.list.appendChild(item);
    }
    this.box.hidden = this.list.children.length === 0;
    this.update(false);
  }

  // Tick off the rules the page can check; `announce` says what changed in the status line.
  update(announce) {
    if (!this.policy) {
      return;
    }
    const password = this.password.value;
    const username = this.username ? this.username.value.trim() : "";
    const broken = new Set(pwresetBrokenRules(this.policy, password, username).map((r) => r.id));
    const changed = [];
    for (const [id, item] of Object.entries(this.items)) {
      item.removeAttribute("data-refused");
      const state = item.querySelector(".pw-rule__state");
      if (!state) {
        continue;
      }
      const met = password !== "" && !broken.has(id);
      const was = item.getAttribute("data-met");
      item.setAttribute("data-met", met ? "true" : "false");
      state.textContent = message(met ? "UI_RULE_MET" : "UI_RULE_NOT_MET") || "";
      if (was !== null && was !== String(met)) {
        changed.push(`${item.firstChild.textContent}: ${state.textContent}.`);
      }
    }
    if (announce && changed.length) {
      this.status.textContent = changed.join(" ");
    }
  }

  // The texts of the rules a refusal names (`params.rules` of password_rule), each marked.
  refused(ids) {
    return ids.map((id) => {
      const item = this.items[id];
      if (!item) {
        return id;
      }
      item.setAttribute("data-refused", "true");
      return item.firstChild.textContent;
    });
  }
}

/* --- script/authenticator.js --- */
/*
 * authenticator.js: the enroll pieces of an authenticator app ([data-pw-totp]) and of
 * recovery codes ([data-pw-recovery-codes]). Each calls its enroll actions through `host`,
 * which the enroll page gives it:
 *   host.act(action, body)   resolves to {ok, data} (relay.js's call, with the session)
 *   host.error(lines, field) shows an error; host.clear() hides it
 *   host.changed(data)       the action's reply after a factor was added or removed
 *                            (data.factors, data.needs)
 * The key and the codes are shown once, from the reply, and never stored by the page.
 *
 * Provides: TotpEnroll, RecoveryCodesEnroll, drawQr
 * Uses: message, text, checkFields, announceIdle (core.js); errorLines (relay.js);
 *       ERRORS (the contract, generated by the build)
 */

// A factor the user has stops being one (its box shows the remove button only then):
// `removed` says so and takes the focus; `done`, what the box said last, hides. Resolves to
// whether it was removed.
const removeFactor = async (host, action, event, removed, done) => {
  host.clear();
  const button = event.currentTarget;
  button.disabled = true;
  const reply = await host.act(action, {});
  button.disabled = false;
  if (reply.ok && reply.data) {
    done.hidden = true;
    removed.hidden = false;
    removed.focus();
    host.changed(reply.data);
  } else {
    host.error(errorLines(reply.data));
  }
  announceIdle();
  return Boolean(reply.ok && reply.data);
};

const SVG_NS = "http://www.w3.org/2000/svg";
const QR_QUIET = 4; // light modules around the code, as the QR standard asks

// The QR code of rows of "1" (dark) and "0" (light) as an SVG drawn here: one path, no
// markup from the server.
const drawQr = (box, rows) => {
  box.textContent = "";
  if (!Array.isArray(rows) || !rows.length) {
    return;
  }
  const size = rows.length + 2 * QR_QUIET;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const back = document.createElementNS(SVG_NS, "rect");
  back.setAttribute("width", String(size));
  back.setAttribute("height", String(size));
  back.setAttribute("fill", "#fff");
  svg.appendChild(back);
  let d = "";
  rows.forEach((row, y) => {
    for (let x = 0; x < row.length; x += 1) {
      if (row[x] === "1") {
        d += `M${x + QR_QUIET} ${y + QR_QUIET}h1v1h-1z`;
      }
    }
  });
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "#000");
  svg.appendChild(path);
  box.appendChild(svg);
};

class TotpEnroll {
  constructor(box, host) {
    this.box = box;
    this.host = host;
    this.begin = box.querySelector("[data-pw-totp-begin]");
    this.form = box.querySelector("[data-pw-totp-form]");
    this.done = box.querySelector("[data-pw-totp-done]");
    this.removed = box.querySelector("[data-pw-totp-removed]");
    this.pending = null;
    this.begin.addEventListener("click", () => this.start());
    this.form.addEventListener("submit", (event) => this.confirm(event));
    box.querySelector("[data-pw-totp-remove]").addEventListener("click", (e) =>
      removeFactor(this.host, "totp.remove", e, this.removed, this.done),
    );
  }


  async start() {
    this.host.clear();
    this.begin.disabled = true;
    const reply = await this.host.act("totp.begin", {});
    this.begin.disabled = false;
    const data = reply.data;
    if (!reply.ok || !data || typeof data.pending !== "string") {
      this.host.error(errorLines(data));
      announceIdle();
      return;
    }
    this.pending = data.pending;
    drawQr(this.box.querySelector("[data-pw-qr]"), data.qr);
    this.box.querySelector("[data-pw-totp-secret]").textContent = text(data.secret);
    this.form.reset();
    this.form.hidden = false;
    this.done.hidden = true;
    this.removed.hidden = true;
    this.box.querySelector("[data-pw-totp-start]").hidden = true;
    this.form.elements.namedItem("code").focus();
    announceIdle();
  }

  async confirm(event) {
    event.preventDefault();
    this.host.clear();
    const problem = checkFields(this.form);
    if (problem) {
      const [id, field, values] = problem;
      this.host.error([message(id, values) || id], field);
      announceIdle();
      return;
    }
    const field = this.form.elements.namedItem("code");
    const button = this.form.querySelector('[type="submit"]');
    button.disabled = true;
    const reply = await this.host.act("totp.confirm", {
      pending: this.pending,
      code: text(field.value),
    });
    button.disabled = false;
    if (reply.ok && reply.data) {
      // The key leaves the page once the app has it.
      this.pending = null;
      this.box.querySelector("[data-pw-qr]").textContent = "";
      this.box.querySelector("[data-pw-totp-secret]").textContent = "";
      this.form.hidden = true;
      this.done.hidden = false;
      this.done.focus();
      this.host.changed(reply.data);
    } else {
      if (reply.data?.message === ERRORS.wrong_code.message) {
        field.value = "";
      }
      this.host.error(errorLines(reply.data), field);
    }
    announceIdle();
  }
}

class RecoveryCodesEnroll {
  constructor(box, host) {
    this.box = box;
    this.host = host;
    this.generate = box.querySelector("[data-pw-codes-generate]");
    this.shown = box.querySelector("[data-pw-codes-shown]");
    this.list = box.querySelector("[data-pw-codes-list]");
    this.status = box.querySelector("[data-pw-codes-status]");
    this.saved = box.querySelector("[data-pw-codes-saved]");
    this.doneButton = box.querySelector("[data-pw-codes-done]");
    this.download = box.querySelector("[data-pw-codes-download]");
    this.finished = box.querySelector("[data-pw-codes-finished]");
    this.removed = box.querySelector("[data-pw-codes-removed]");
    this.codes = [];
    this.url = null;
    this.generate.addEventListener("click", () => this.make());
    box.querySelector("[data-pw-codes-copy]").addEventListener("click", () => this.copy());
    this.saved.addEventListener("change", () => {
      this.doneButton.disabled = !this.saved.checked;
    });
    this.doneButton.addEventListener("click", () => this.close());
    box.querySelector("[data-pw-codes-remove]").addEventListener("click", async (e) => {
      // Codes just made may still be on screen: once removed, they leave it.
      if (await removeFactor(this.host, "recovery_code.remove", e, this.removed, this.finished)) {
        this.forget();
      }
    });
  }

  async make() {
    this.host.clear();
    this.generate.disabled = true;
    const reply = await this.host.act("recovery_code.generate", {});
    this.generate.disabled = false;
    const data = reply.data;
    if (!reply.ok || !data || !Array.isArray(data.codes)) {
      this.host.error(errorLines(data));
      announceIdle();
      return;
    }
    this.codes = data.codes.map(text);
    this.list.textContent = "";
    for (const code of this.codes) {
      const item = document.createElement("li");
      const value = document.createElement("code");
      value.textContent = code;
      item.appendChild(value);
      this.list.appendChild(item);
    }
    if (this.url) {
      URL.revokeObjectURL(this.url);
    }
    const file = new Blob([`${this.codes.join("\n")}\n`], { type: "text/plain" });
    this.url = URL.createObjectURL(file);
    this.download.setAttribute("href", this.url);
    this.saved.checked = false;
    this.doneButton.disabled = true;
    this.status.textContent = "";
    this.finished.hidden = true;
    this.removed.hidden = true;
    this.shown.hidden = false;
    this.box.querySelector("[data-pw-codes-start]").hidden = true;
    this.box.querySelector("#pw-codes-once").focus();
    this.host.changed(data);
    announceIdle();
  }

  async copy() {
    try {
      await navigator.clipboard.writeText(this.codes.join("\n"));
      this.status.textContent = message("UI_COPIED") || "";
    } catch (e) {
      this.status.textContent = message("UI_COPY_FAILED") || "";
    }
    announceIdle();
  }

  // The codes leave the page.
  forget() {
    this.codes = [];
    this.list.textContent = "";
    if (this.url) {
      URL.revokeObjectURL(this.url);
      this.url = null;
    }
    this.download.setAttribute("href", "#");
    this.shown.hidden = true;
    this.box.querySelector("[data-pw-codes-start]").hidden = false;
  }

  // Saved: the codes leave the page.
  close() {
    this.forget();
    this.finished.hidden = false;
    this.finished.focus();
    announceIdle();
  }
}

/* --- script/factor_session.js --- */
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

/* --- script/flow.js --- */
/*
 * flow.js: one flow on one page ([data-pw-flow]): its steps (forms) one after the other,
 * the checks made in the browser, the calls, and how it ends (finished, stopped, error).
 *
 * Provides: Flow
 * Uses: core.js, call and errorLines (relay.js), passkeyGet (passkeys.js), Questions
 *       (questions.js), PasswordRules (password_rules.js), FactorSession (factor_session.js);
 *       ERRORS (the contract, generated by the build)
 */

// Replies that mean the site cannot be used at all: shown on the critical-error page.
const CRITICAL = [ERRORS.unknown_site.message, ERRORS.flow_disabled.message];
// Replies after which the step's field is emptied for another try.
const RETRY = [ERRORS.wrong_answer.message, ERRORS.wrong_code.message];

class Flow {
  constructor(card) {
    this.card = card;
    this.endpoint = card.getAttribute("data-endpoint");
    this.errorBox = card.querySelector("[data-pw-error]");
    this.finishedBox = card.querySelector("[data-pw-finished]");
    this.stoppedBox = card.querySelector("[data-pw-stopped]");
    this.stop = words(card.getAttribute("data-stop"));
    this.restart = words(card.getAttribute("data-restart"));
    this.steps = {};
    for (const form of card.querySelectorAll("form[data-pw-step]")) {
      this.steps[form.getAttribute("data-pw-step")] = form;
    }
    this.first = card.querySelector("form[data-pw-step]");
    this.form = this.first;
    this.token = null;
    this.passkeyOptions = null; // the passkey step's, renewed by each refusal
    this.busy = false;
    this.identity = {};
    this.questions = this.first.hasAttribute("data-pw-enroll") ? new Questions(this.first) : null;
    const factors = card.querySelector("[data-pw-factors]");
    this.factors = factors ? new FactorSession(this, factors) : null;
    // The password rules of each form that asks for a new password.
    this.rules = new Map();
    for (const form of this.forms) {
      if (form.querySelector("[data-pw-policy]")) {
        this.rules.set(form, new PasswordRules(form));
      }
    }
  }

  get forms() {
    return Object.values(this.steps);
  }

  button(form) {
    return (form || this.form).querySelector('[type="submit"]');
  }

  clearError() {
    this.errorBox.hidden = true;
    this.errorBox.textContent = "";
    for (const field of this.card.querySelectorAll('[aria-invalid="true"]')) {
      field.removeAttribute("aria-invalid");
    }
  }

  showError(lines, field) {
    const box = this.errorBox;
    box.textContent = "";
    for (const line of lines) {
      const p = document.createElement("p");
      p.textContent = line;
      box.appendChild(p);
    }
    if (field) {
      field.setAttribute("aria-invalid", "true");
    }
    box.hidden = false;
    box.focus();
  }

  setBusy(busy) {
    const button = this.button();
    this.busy = busy;
    button.disabled = busy;
    button.setAttribute("aria-busy", busy ? "true" : "false");
  }

  showStep(form) {
    for (const step of this.forms) {
      step.hidden = step !== form;
    }
    this.form = form;
    this.button(form).disabled = false;
  }

  hideForms() {
    for (const step of this.forms) {
      step.reset(); // passwords and answers leave the page
      step.hidden = true;
    }
    for (const el of this.card.querySelectorAll('[data-pw-part="form"]')) {
      el.hidden = true;
    }
    this.errorBox.hidden = true;
  }

  // An end state (finished or stopped): its text, the links meant for this message id,
  // and the user's name and domain carried into links to another flow.
  end(box, lines, id) {
    const query = new URLSearchParams();
    for (const name of PREFILL) {
      if (this.identity[name]) {
        query.set(name, this.identity[name]);
      }
    }
    this.hideForms();
    const target = box.querySelector("[data-finished-text], [data-stopped-text]");
    for (const el of box.querySelectorAll("[data-pw-extra]")) {
      el.remove();
    }
    target.textContent = lines[0];
    for (const line of lines.slice(1).reverse()) {
      const extra = document.createElement("p");
      extra.setAttribute("data-pw-extra", "");
      extra.className = target.className;
      extra.textContent = line;
      target.parentNode.insertBefore(extra, target.nextSibling);
    }
    for (const el of box.querySelectorAll("[data-show-for]")) {
      el.hidden = !words(el.getAttribute("data-show-for")).includes(id);
    }
    const carried = query.toString();
    for (const link of box.querySelectorAll("a[data-pw-carry]")) {
      const href = link.getAttribute("href").split("?")[0];
      link.setAttribute("href", carried ? `${href}?${carried}` : href);
    }
    box.hidden = false;
    box.focus();
  }

  finish(id) {
    const known = message(id) !== null ? id : this.card.getAttribute("data-finished-default");
    this.end(this.finishedBox, [message(known) || ""], known);
  }

  problem(data) {
    const id = data && typeof data === "object" ? data.message : null;
    if (data && data.params && typeof data.params.options === "string") {
      this.passkeyOptions = JSON.parse(data.params.options); // the spent challenge's successor
    }
    if (CRITICAL.includes(id)) {
      window.location.assign(`error.html?message=${encodeURIComponent(id)}`);
      return;
    }
    if (this.stoppedBox && (this.stop.includes(id) || this.restart.includes(id))) {
      this.end(this.stoppedBox, errorLines(data), id);
      return;
    }
    let field = null;
    let lines = errorLines(data);
    if (RETRY.includes(id)) {
      field = firstField(this.form);
      field.value = "";
    }
    const rules = this.rules.get(this.form);
    if (data.code === "password_rule" && rules) {
      // Each rule the server names, in the words of the list above the password.
      lines = lines.concat(rules.refused(text(data.params?.rules).split(",").filter(Boolean)));
      field = rules.password;
    }
    this.showError(lines, field);
  }

  startAgain() {
    this.token = null;
    this.stoppedBox.hidden = true;
    for (const el of this.card.querySelectorAll('[data-pw-part="form"]')) {
      el.hidden = false;
    }
    this.showStep(this.first);
    for (const name of PREFILL) {
      const field = this.first.elements.namedItem(name);
      if (field && this.identity[name]) {
        field.value = this.identity[name];
      }
    }
    firstField(this.first).focus();
  }

  nextStep(data) {
    const step = data.step;
    const form = this.steps[step.kind];
    if (!form) {
      this.showError([message(ERRORS.server_error.message)]);
      return;
    }
    this.token = data.flow;
    form.reset();
    if (step.kind === "question") {
      form.querySelector("[data-pw-progress]").textContent = message("UI_QUESTION_PROGRESS", [
        step.index,
        step.total,
      ]);
      form.querySelector("[data-pw-prompt]").textContent = text(step.prompt);
    } else if (step.kind === "code") {
      const list = form.querySelector("[data-pw-destinations]");
      list.textContent = "";
      const destinations = Array.isArray(step.destinations)
        ? step.destinations
        : [step.destination];
      for (const to of destinations) {
        if (text(to)) {
          // A masked address or number reads left to right on every page, and its
          // bullet stays at the start of the page's lines (the right, in Arabic).
          const item = document.createElement("li");
          const value = document.createElement("bdi");
          value.dir = "ltr";
          value.textContent = text(to);
          item.appendChild(value);
          list.appendChild(item);
        }
      }
    } else if (step.kind === "password") {
      this.rules.get(form)?.show(step.policy);
    } else if (step.kind === "passkey") {
      this.passkeyOptions = step.options;
    } else if (step.kind === "choose") {
      // Only the kinds the step lists can be chosen; the first is preselected.
      const offered = Array.isArray(step.factors) ? step.factors : [];
      let first = true;
      for (const choice of form.querySelectorAll("[data-pw-choice]")) {
        const shown = offered.includes(choice.getAttribute("data-pw-choice"));
        const input = choice.querySelector("input");
        choice.hidden = !shown;
        input.disabled = !shown;
        input.checked = shown && first;
        first = first && !shown;
      }
    }
    this.clearError();
    this.showStep(form);
    (firstField(form) || this.button(form)).focus();
  }

  body(form) {
    const step = form.getAttribute("data-post") === "step";
    const body = step ? { flow: this.token } : { lang: document.documentElement.lang || "en" };
    for (const field of fieldsOf(form)) {
      if (field.type === "radio" && !field.checked) {
        continue;
      }
      if (!field.hasAttribute("data-local")) {
        const value = field.type === "password" ? field.value : text(field.value);
        if (value || field.name !== "email") {
          body[field.name] = value;
        }
      }
    }
    if (this.questions && form === this.first) {
      body.answers = this.questions.answers();
    }
    return body;
  }

  async submit() {
    const form = this.form;
    const post = form.getAttribute("data-post");
    if (form === this.first) {
      for (const name of PREFILL) {
        const field = form.elements.namedItem(name);
        this.identity[name] = field ? text(field.value) : "";
      }
    }
    this.setBusy(true);
    const body = this.body(form);
    if (form.hasAttribute("data-pw-passkey")) {
      const got = await passkeyGet(this.passkeyOptions);
      if (got.problem) {
        this.setBusy(false);
        this.showError([message(got.problem)]);
        announceIdle();
        return;
      }
      body.credential = got.credential;
    }
    const reply = await call("POST", this.endpoint + (post ? `/${post}` : ""), body);
    this.setBusy(false);
    const data = reply.data;
    if (reply.ok && data && data.status === "done") {
      this.finish(data.message);
    } else if (reply.ok && data && data.flow && data.step && typeof data.step === "object") {
      this.nextStep(data);

    } else if (!data || typeof data !== "object") {
      this.showError([message(ERRORS.server_unreachable.message)]);
    } else {
      this.problem(data);
    }
    announceIdle();
  }

  onSubmit(event) {
    event.preventDefault();
    if (this.busy || event.currentTarget !== this.form) {
      return;
    }
    if (this.form.hasAttribute("data-pw-factors-only")) {
      // No questions on this site: the account fields open the other factors' session.
      this.factors?.open();
      return;
    }
    this.clearError();
    const problem =
      checkFields(this.form) ||
      (this.questions && this.form === this.first ? this.questions.check() : null);
    if (problem) {
      const [id, field, values] = problem;
      this.showError([message(id, values) || id], field);
      announceIdle();
      return;
    }
    this.submit();
  }

  async start() {
    for (const form of this.forms) {
      form.addEventListener("submit", (event) => this.onSubmit(event));
    }
    const restart = this.stoppedBox?.querySelector("[data-pw-restart]");
    if (restart) {
      restart.addEventListener("click", () => this.startAgain());
    }
    prefill(this.first);
    const rules = this.rules.get(this.first);
    if (!this.questions) {
      // Change works without its rules shown (the server checks them anyway): usable at
      // once, the rules added when meta answers. (An enroll form without questions has no
      // button of its own: the other factors' opens the session.)
      const button = this.button(this.first);
      if (button) {
        button.disabled = false;
      }
      if (rules || this.factors) {
        const reply = await call("GET", "meta");
        if (reply.ok && reply.data && typeof reply.data === "object") {
          rules?.show(reply.data.password_policy);
          this.factors?.offered(reply.data.factors?.offer);
        }
      }
      announceIdle();
      return;
    }
    // Enroll: the question blocks need the server's settings first.
    const reply = await call("GET", "meta");
    if (reply.ok && reply.data && typeof reply.data === "object" && !reply.data.message) {
      this.questions.build(reply.data);
      this.factors?.offered(reply.data.factors?.offer);
      this.button(this.first).disabled = false;
    } else {
      this.questions.box.removeAttribute("aria-busy");
      this.showError(errorLines(reply.data));
    }
    announceIdle();
  }
}

/* --- script/startup.js --- */
/*
 * startup.js: what runs when a page loads: the language first (before the page paints),
 * then the menu's ?cmd= links, the critical-error page's text, and every flow card.
 *
 * Uses: every other module
 */

// index.html?cmd=reset&username=…&domain=… opens that flow's page with the fields filled.
const followCommand = () => {
  const query = new URLSearchParams(window.location.search);
  const command = (query.get("cmd") || "").toLowerCase().replace(/[^a-z]/g, "");
  const link = command ? document.querySelector(`a[data-flow="${command}"]`) : null;
  if (!link) {
    return false;
  }
  const target = new URLSearchParams();
  for (const name of PREFILL) {
    if (query.get(name)) {
      target.set(name, query.get(name).slice(0, FIELD_LIMITS[name]));
    }
  }
  const rest = target.toString();
  window.location.replace(link.getAttribute("href") + (rest ? `?${rest}` : ""));
  return true;
};

const showCriticalError = (page) => {
  const shown = message(new URLSearchParams(window.location.search).get("message"));
  if (shown) {
    page.querySelector("[data-pw-error-text]").textContent = shown;
  }
};

const init = () => {
  watchLanguageSwitch();
  if (document.querySelector("[data-pw-menu]") && followCommand()) {
    return;
  }
  const errorPage = document.querySelector("[data-pw-error-page]");
  if (errorPage) {
    showCriticalError(errorPage);
  }
  const cards = document.querySelectorAll("[data-pw-flow]");
  for (const card of cards) {
    new Flow(card).start();
  }
  if (!cards.length) {
    announceIdle();
  }
};

if (!chooseLanguage()) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}
})();
