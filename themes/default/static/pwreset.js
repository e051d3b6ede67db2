/*
 * pwreset page script: deep-link prefill, checks made in the browser, and the JSON call to
 * the relay. Plain JavaScript, no framework, loaded from a file (the pages allow no inline
 * script). A form opts in with data-pw-flow; everything page-specific is in its markup:
 *   data-endpoint    path under the API base (meta name="pwreset-api") to POST to
 *   data-error       id of the error box (role=alert), data-finished: id of the finished box
 *   data-finished-default  message id shown when the reply names none we know
 *   on fields: data-empty (message id when empty), data-match + data-mismatch (must equal
 *   another field), data-local (checked but never sent).
 * Texts come from the hidden #pw-messages block: <p data-msg="RES_...">text</p>.
 */
(function () {
  "use strict";

  var MESSAGE_ID = /^[A-Z][A-Z0-9_]*$/;
  var PREFILL = ["username", "domain"];
  var TIMEOUT_MS = 30000;

  function apiBase() {
    var meta = document.querySelector('meta[name="pwreset-api"]');
    return ((meta && meta.getAttribute("content")) || "").replace(/\/+$/, "");
  }

  // The page's own text for a message id, with %1 filled in (or dropped, with the
  // parentheses around it, when there is nothing to fill); null for an unknown id.
  function message(id, fill) {
    if (typeof id !== "string" || !MESSAGE_ID.test(id)) {
      return null;
    }
    var node = document.querySelector('#pw-messages [data-msg="' + id + '"]');
    if (!node) {
      return null;
    }
    var text = node.textContent.trim();
    if (typeof fill === "string" && fill) {
      return text.split("%1").join(fill);
    }
    return text.replace(/\s*\(%1\)|\s*%1/g, "");
  }

  function text(value) {
    return typeof value === "string" ? value.trim() : "";
  }

  function fieldsOf(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && (el.tagName === "INPUT" || el.tagName === "SELECT");
    });
  }

  function prefill(form) {
    var query = new URLSearchParams(window.location.search);
    PREFILL.forEach(function (name) {
      var value = query.get(name);
      var field = form.elements.namedItem(name);
      if (!value || !field || field.tagName === undefined) {
        return;
      }
      value = value.slice(0, 256);
      if (field.tagName === "SELECT") {
        // Only a domain the site offers can be chosen; the match ignores case.
        Array.prototype.forEach.call(field.options, function (option) {
          if (option.value.toLowerCase() === value.toLowerCase()) {
            field.value = option.value;
          }
        });
      } else {
        field.value = value;
      }
    });
  }

  function Flow(form) {
    this.form = form;
    this.errorBox = document.getElementById(form.getAttribute("data-error"));
    this.finishedBox = document.getElementById(form.getAttribute("data-finished"));
    this.button = form.querySelector('[type="submit"]');
    this.busy = false;
  }

  Flow.prototype.showError = function (lines, field) {
    var box = this.errorBox;
    box.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      box.appendChild(p);
    });
    if (field) {
      field.setAttribute("aria-invalid", "true");
    }
    box.hidden = false;
    box.focus();
  };

  Flow.prototype.clearError = function () {
    this.errorBox.hidden = true;
    this.errorBox.textContent = "";
    fieldsOf(this.form).forEach(function (field) {
      field.removeAttribute("aria-invalid");
    });
  };

  Flow.prototype.setBusy = function (busy) {
    this.busy = busy;
    this.button.disabled = busy;
    this.button.setAttribute("aria-busy", busy ? "true" : "false");
  };

  // The first problem found in field order, as [message id, field], or null.
  Flow.prototype.check = function () {
    var fields = fieldsOf(this.form);
    for (var i = 0; i < fields.length; i += 1) {
      var field = fields[i];
      var value = field.type === "password" ? field.value : text(field.value);
      var empty = field.getAttribute("data-empty");
      var other = document.getElementById(field.getAttribute("data-match") || "");
      if (empty && !value) {
        return [empty, field];
      }
      if (other && field.value !== other.value) {
        return [field.getAttribute("data-mismatch"), field];
      }
    }
    return null;
  };

  Flow.prototype.body = function () {
    var body = { lang: document.documentElement.lang || "en" };
    fieldsOf(this.form).forEach(function (field) {
      if (!field.hasAttribute("data-local")) {
        body[field.name] = field.type === "password" ? field.value : text(field.value);
      }
    });
    return body;
  };

  Flow.prototype.finish = function (messageId) {
    var shown = message(messageId) || message(this.form.getAttribute("data-finished-default"));
    this.form.reset(); // the passwords leave the page
    this.form.hidden = true;
    document.querySelectorAll('[data-pw-part="form"]').forEach(function (el) {
      el.hidden = true;
    });
    this.errorBox.hidden = true;
    this.finishedBox.querySelector("[data-finished-text]").textContent = shown || "";
    this.finishedBox.hidden = false;
    this.finishedBox.focus();
  };

  // What an error reply means for the user: the page's text for `message`, the directory's
  // own reason after it, or the reply's `detail` when the id is not one this page knows.
  function errorLines(data) {
    var params = data.params && typeof data.params === "object" ? data.params : {};
    var main = message(data.message, text(params.server));
    if (main === null) {
      main = text(data.detail) || message("RES_SERVER_ERROR");
    }
    var lines = [main];
    var reason = text(params.reason);
    if (reason) {
      lines.push(message("RES_DIRECTORY_REASON", reason) || reason);
    }
    return lines;
  }

  Flow.prototype.submit = function () {
    var self = this;
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : 0;
    self.setBusy(true);
    fetch(apiBase() + "/" + self.form.getAttribute("data-endpoint"), {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, application/problem+json"
      },
      body: JSON.stringify(self.body()),
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      signal: controller ? controller.signal : undefined
    })
      .then(function (response) {
        return response.json().then(
          function (data) { return { ok: response.ok, data: data }; },
          function () { return { ok: response.ok, data: null }; }
        );
      })
      .then(function (reply) {
        var data = reply.data;
        if (!data || typeof data !== "object") {
          self.showError([message("RES_REQUEST_FAILED")]);
        } else if (reply.ok && data.status === "done") {
          self.finish(data.message);
        } else {
          self.showError(errorLines(data));
        }
      }, function () {
        self.showError([message("RES_REQUEST_FAILED")]);
      })
      .then(function () {
        window.clearTimeout(timer);
        self.setBusy(false);
      });
  };

  Flow.prototype.start = function () {
    var self = this;
    prefill(self.form);
    self.form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (self.busy) {
        return;
      }
      self.clearError();
      var problem = self.check();
      if (problem) {
        self.showError([message(problem[0]) || problem[0]], problem[1]);
        return;
      }
      self.submit();
    });
    self.button.disabled = false;
  };

  document.querySelectorAll("form[data-pw-flow]").forEach(function (form) {
    new Flow(form).start();
  });
})();
