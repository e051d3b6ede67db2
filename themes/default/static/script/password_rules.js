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
