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
