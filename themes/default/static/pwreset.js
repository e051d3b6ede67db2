/*
 * pwreset page script: language choice, deep links, the checks made in the browser, and the
 * JSON calls to the relay, step by step. Plain JavaScript, no framework, loaded from a file
 * (the pages allow no inline script). Everything page-specific is in the markup:
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
 */
(function () {
  "use strict";

  var MESSAGE_ID = /^[A-Z][A-Z0-9_]*$/;
  var PREFILL = ["username", "domain"];
  var TIMEOUT_MS = 30000;
  var LANGUAGE_KEY = "pwreset.lang";
  // Replies that mean the site cannot be used at all: shown on the critical-error page.
  var CRITICAL = ["RES_UNKNOWN_SITE", "RES_FLOW_DISABLED"];
  var ALPHANUMERIC = letterOrDigit();

  /* --- language: the switch (remembered), then ?lang=, then the browser's languages ------- */

  function storage(tag) {
    try {
      if (tag) {
        window.localStorage.setItem(LANGUAGE_KEY, tag);
      }
      return window.localStorage.getItem(LANGUAGE_KEY);
    } catch (e) {
      return null; // storage blocked: the choice lasts for this page only
    }
  }

  function offeredLanguages() {
    var offered = {};
    document.querySelectorAll('link[rel="alternate"][hreflang]').forEach(function (link) {
      offered[link.getAttribute("hreflang").toLowerCase()] = link.getAttribute("href");
    });
    return offered;
  }

  // The offered tag for a wanted one: the same tag, else the same language ("de-CH" -> "de").
  function matchLanguage(wanted, offered) {
    if (typeof wanted !== "string" || !wanted) {
      return null;
    }
    wanted = wanted.toLowerCase();
    if (offered[wanted] !== undefined) {
      return wanted;
    }
    var base = wanted.split("-")[0];
    var tags = Object.keys(offered);
    for (var i = 0; i < tags.length; i += 1) {
      if (tags[i] === base || tags[i].split("-")[0] === base) {
        return tags[i];
      }
    }
    return null;
  }

  // True when the page is being replaced by its version in the wanted language.
  function chooseLanguage() {
    var offered = offeredLanguages();
    if (!Object.keys(offered).length) {
      return false;
    }
    var browser = navigator.languages && navigator.languages.length
      ? Array.prototype.slice.call(navigator.languages)
      : [navigator.language];
    var wanted = [storage(), new URLSearchParams(window.location.search).get("lang")]
      .concat(browser);
    var current = document.documentElement.lang.toLowerCase();
    for (var i = 0; i < wanted.length; i += 1) {
      var tag = matchLanguage(wanted[i], offered);
      if (tag) {
        if (tag === current) {
          return false;
        }
        window.location.replace(offered[tag] + window.location.search + window.location.hash);
        return true;
      }
    }
    return false;
  }

  function watchLanguageSwitch() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[data-pw-lang]") : null;
      if (link) {
        storage(link.getAttribute("data-pw-lang"));
        // The same page in the other language, with the same deep-link fields.
        link.setAttribute("href", link.getAttribute("href").split("?")[0] + window.location.search);
      }
    });
  }

  /* --- texts ------------------------------------------------------------------------------ */

  // The page's own text for a message id with %1, %2 filled from `values` (a placeholder
  // with nothing to fill is dropped, with the parentheses around it); null for unknown ids.
  function message(id, values) {
    if (typeof id !== "string" || !MESSAGE_ID.test(id)) {
      return null;
    }
    var node = document.querySelector('#pw-messages [data-msg="' + id + '"]');
    if (!node) {
      return null;
    }
    values = values || [];
    return node.textContent.trim().replace(/\s*\(%(\d)\)|\s*%(\d)/g, function (all, inParens, bare) {
      var value = values[Number(inParens || bare) - 1];
      if (value === undefined || value === null || value === "") {
        return "";
      }
      return all.replace("%" + (inParens || bare), String(value));
    });
  }

  function text(value) {
    return typeof value === "string" ? value.trim() : "";
  }

  function words(value) {
    return (value || "").split(/\s+/).filter(Boolean);
  }

  function letterOrDigit() {
    try {
      return new RegExp("[\\p{L}\\p{N}]", "gu");
    } catch (e) {
      return /[A-Za-z0-9\u00C0-\u024F]/g; // browsers without Unicode property escapes
    }
  }

  function alphanumericCount(value) {
    return (value.match(ALPHANUMERIC) || []).length;
  }

  function announceIdle() {
    document.dispatchEvent(new CustomEvent("pwreset:idle"));
  }

  /* --- talking to the relay ------------------------------------------------------------- */

  function apiBase() {
    var meta = document.querySelector('meta[name="pwreset-api"]');
    return ((meta && meta.getAttribute("content")) || "").replace(/\/+$/, "");
  }

  // Resolves to {ok, data}; data is null when the reply is not JSON.
  function call(method, path, body) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : 0;
    var options = {
      method: method,
      headers: { Accept: "application/json, application/problem+json" },
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      signal: controller ? controller.signal : undefined
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(apiBase() + "/" + path, options)
      .then(function (response) {
        return response.json().then(
          function (data) { return { ok: response.ok, data: data }; },
          function () { return { ok: response.ok, data: null }; }
        );
      })
      .then(function (reply) {
        window.clearTimeout(timer);
        return reply;
      }, function () {
        window.clearTimeout(timer);
        return { ok: false, data: null };
      });
  }

  // What an error reply means for the user: the page's text for `message` with its
  // positional values, the directory's own reason after it, or the reply's `detail` when
  // the id is not one this page knows.
  function errorLines(data) {
    if (!data || typeof data !== "object") {
      return [message("RES_REQUEST_FAILED")];
    }
    var params = data.params && typeof data.params === "object" ? data.params : {};
    var main = message(data.message, [text(params["1"]) || text(params.server), text(params["2"])]);
    if (main === null) {
      main = text(data.detail) || message("RES_SERVER_ERROR");
    }
    var lines = [main];
    var reason = text(params.reason);
    if (reason) {
      lines.push(message("RES_DIRECTORY_REASON", [reason]) || reason);
    }
    return lines;
  }

  /* --- forms ------------------------------------------------------------------------------ */

  function fieldsOf(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !el.disabled && (el.tagName === "INPUT" || el.tagName === "SELECT");
    });
  }

  function firstField(form) {
    return fieldsOf(form).filter(function (el) { return el.type !== "hidden"; })[0] || null;
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

  // The first problem of a form's own fields, in field order: [message id, field, values].
  function checkFields(form) {
    var fields = fieldsOf(form);
    for (var i = 0; i < fields.length; i += 1) {
      var field = fields[i];
      var value = field.type === "password" ? field.value : text(field.value);
      var empty = field.getAttribute("data-empty");
      var other = document.getElementById(field.getAttribute("data-match") || "");
      var email = field.getAttribute("data-email");
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
  }

  /* --- enroll: question blocks built from {api}/meta --------------------------------------- */

  function Questions(form) {
    this.form = form;
    this.box = form.querySelector("[data-pw-questions]");
    this.template = document.getElementById("pw-question-template");
    this.minimum = 1;
  }

  Questions.prototype.build = function (meta) {
    var enroll = (meta && meta.enroll) || {};
    var count = Math.min(Math.max(parseInt(enroll.questions, 10) || 3, 1), 10);
    var lang = document.documentElement.lang;
    var lists = enroll.question_list || {};
    var list = lists[lang] || lists[lang.split("-")[0]] || lists.en || [];
    var own = Boolean(enroll.custom_questions);
    var maxLength = parseInt(enroll.max_question_length, 10) || 64;
    this.minimum = Math.max(parseInt(enroll.min_answer_chars, 10) || 1, 1);
    this.box.textContent = "";
    for (var n = 1; n <= count; n += 1) {
      this.box.appendChild(this.block(n, list, own, maxLength));
    }
    this.box.removeAttribute("aria-busy");
    this.email(enroll.email);
  };

  Questions.prototype.block = function (n, list, own, maxLength) {
    var block = this.template.content.firstElementChild.cloneNode(true);
    var select = block.querySelector("select");
    var typed = block.querySelector("[data-pw-question-own]");
    var answer = block.querySelector('input[name="answer"]');
    var question = own ? typed : select;
    var questionLabel = block.querySelector("[data-pw-question-label]");
    var answerLabel = block.querySelector("[data-pw-answer-label]");
    var hint = block.querySelector("[data-pw-answer-hint]");
    question.id = "pw-question-" + n;
    questionLabel.id = question.id + "-label";
    questionLabel.setAttribute("for", question.id);
    questionLabel.textContent = message(own ? "UI_QUESTION_OWN" : "UI_QUESTION", [n]) + (own ? " " + n : "");
    answer.id = "pw-answer-" + n;
    answerLabel.id = answer.id + "-label";
    answerLabel.setAttribute("for", answer.id);
    answerLabel.textContent = message("UI_ANSWER");
    answer.setAttribute("aria-labelledby", answerLabel.id + " " + questionLabel.id);
    hint.id = answer.id + "-hint";
    hint.textContent = message("UI_ANSWER_HINT", [this.minimum]);
    answer.setAttribute("aria-describedby", hint.id);
    if (own) {
      block.querySelector("[data-pw-question-select]").hidden = true;
      select.disabled = true;
      typed.hidden = false;
      typed.disabled = false;
      typed.maxLength = maxLength;
    } else {
      var choose = document.createElement("option");
      choose.value = "";
      choose.textContent = message("UI_QUESTION_CHOOSE");
      select.appendChild(choose);
      list.forEach(function (entry) {
        var option = document.createElement("option");
        option.value = option.textContent = String(entry);
        select.appendChild(option);
      });
    }
    return block;
  };

  Questions.prototype.email = function (mode) {
    var wrap = this.form.querySelector("[data-pw-email]");
    if (!wrap || (mode !== "optional" && mode !== "required")) {
      return;
    }
    var field = wrap.querySelector("input");
    var label = wrap.querySelector("label");
    field.disabled = false;
    wrap.hidden = false;
    label.textContent = label.getAttribute(mode === "required" ? "data-label-required" : "data-label-optional");
    if (mode === "required") {
      field.required = true;
      field.setAttribute("data-empty", "RES_EMPTY_FIELD_EMAIL");
    }
  };

  Questions.prototype.entries = function () {
    return Array.prototype.map.call(this.box.querySelectorAll("[data-pw-question]"), function (block) {
      var question = block.querySelector('[name="question"]:not([disabled])');
      return { question: question, answer: block.querySelector('[name="answer"]') };
    });
  };

  // Every question chosen and none twice, then every answer long enough (letters and
  // digits only): the questions first, as users pick all of them before answering.
  Questions.prototype.check = function () {
    var entries = this.entries();
    var i;
    for (i = 0; i < entries.length; i += 1) {
      var chosen = text(entries[i].question.value);
      if (!chosen) {
        return ["RES_EMPTY_FIELD_QUESTION", entries[i].question, [i + 1]];
      }
      for (var j = 0; j < i; j += 1) {
        if (text(entries[j].question.value).toLowerCase() === chosen.toLowerCase()) {
          return ["RES_IDENTICAL_QUESTIONS", entries[i].question, [j + 1, i + 1]];
        }
      }
    }
    for (i = 0; i < entries.length; i += 1) {
      if (alphanumericCount(entries[i].answer.value) < this.minimum) {
        return ["RES_ANSWER_TOO_SHORT", entries[i].answer, [i + 1, this.minimum]];
      }
    }
    return null;
  };

  Questions.prototype.answers = function () {
    return this.entries().map(function (entry) {
      return { question: text(entry.question.value), answer: text(entry.answer.value) };
    });
  };

  /* --- one flow on one page ----------------------------------------------------------------- */

  function Flow(card) {
    var self = this;
    self.card = card;
    self.endpoint = card.getAttribute("data-endpoint");
    self.errorBox = card.querySelector("[data-pw-error]");
    self.finishedBox = card.querySelector("[data-pw-finished]");
    self.stoppedBox = card.querySelector("[data-pw-stopped]");
    self.stop = words(card.getAttribute("data-stop"));
    self.restart = words(card.getAttribute("data-restart"));
    self.steps = {};
    card.querySelectorAll("form[data-pw-step]").forEach(function (form) {
      self.steps[form.getAttribute("data-pw-step")] = form;
    });
    self.first = card.querySelector("form[data-pw-step]");
    self.form = self.first;
    self.token = null;
    self.busy = false;
    self.identity = {};
    self.questions = self.first.hasAttribute("data-pw-enroll") ? new Questions(self.first) : null;
  }

  Flow.prototype.button = function (form) {
    return (form || this.form).querySelector('[type="submit"]');
  };

  Flow.prototype.clearError = function () {
    this.errorBox.hidden = true;
    this.errorBox.textContent = "";
    this.card.querySelectorAll('[aria-invalid="true"]').forEach(function (field) {
      field.removeAttribute("aria-invalid");
    });
  };

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

  Flow.prototype.setBusy = function (busy) {
    var button = this.button();
    this.busy = busy;
    button.disabled = busy;
    button.setAttribute("aria-busy", busy ? "true" : "false");
  };

  Flow.prototype.showStep = function (form) {
    var self = this;
    Object.keys(self.steps).forEach(function (name) {
      self.steps[name].hidden = self.steps[name] !== form;
    });
    self.form = form;
    self.button(form).disabled = false;
  };

  Flow.prototype.hideForms = function () {
    var self = this;
    Object.keys(self.steps).forEach(function (name) {
      self.steps[name].reset(); // passwords and answers leave the page
      self.steps[name].hidden = true;
    });
    self.card.querySelectorAll('[data-pw-part="form"]').forEach(function (el) {
      el.hidden = true;
    });
    self.errorBox.hidden = true;
  };

  // An end state (finished or stopped): its text, the links meant for this message id,
  // and the user's name and domain carried into links to another flow.
  Flow.prototype.end = function (box, lines, id) {
    var query = new URLSearchParams();
    var self = this;
    PREFILL.forEach(function (name) {
      if (self.identity[name]) {
        query.set(name, self.identity[name]);
      }
    });
    this.hideForms();
    var target = box.querySelector("[data-finished-text], [data-stopped-text]");
    box.querySelectorAll("[data-pw-extra]").forEach(function (el) { el.remove(); });
    target.textContent = lines[0];
    lines.slice(1).reverse().forEach(function (line) {
      var extra = document.createElement("p");
      extra.setAttribute("data-pw-extra", "");
      extra.className = target.className;
      extra.textContent = line;
      target.parentNode.insertBefore(extra, target.nextSibling);
    });
    box.querySelectorAll("[data-show-for]").forEach(function (el) {
      el.hidden = words(el.getAttribute("data-show-for")).indexOf(id) < 0;
    });
    box.querySelectorAll("a[data-pw-carry]").forEach(function (link) {
      var href = link.getAttribute("href").split("?")[0];
      link.setAttribute("href", query.toString() ? href + "?" + query.toString() : href);
    });
    box.hidden = false;
    box.focus();
  };

  Flow.prototype.finish = function (id) {
    var known = message(id) !== null ? id : this.card.getAttribute("data-finished-default");
    this.end(this.finishedBox, [message(known) || ""], known);
  };

  Flow.prototype.problem = function (data) {
    var id = data && typeof data === "object" ? data.message : null;
    if (CRITICAL.indexOf(id) >= 0) {
      window.location.assign("error.html?message=" + encodeURIComponent(id));
      return;
    }
    if (this.stoppedBox && (this.stop.indexOf(id) >= 0 || this.restart.indexOf(id) >= 0)) {
      this.end(this.stoppedBox, errorLines(data), id);
      return;
    }
    var field = null;
    if (id === "RES_WRONG_ANSWER" || id === "RES_WRONG_CODE") {
      field = firstField(this.form);
      field.value = "";
    }
    this.showError(errorLines(data), field);
  };

  Flow.prototype.startAgain = function () {
    this.token = null;
    this.stoppedBox.hidden = true;
    this.card.querySelectorAll('[data-pw-part="form"]').forEach(function (el) {
      el.hidden = false;
    });
    this.showStep(this.first);
    var self = this;
    PREFILL.forEach(function (name) {
      var field = self.first.elements.namedItem(name);
      if (field && self.identity[name]) {
        field.value = self.identity[name];
      }
    });
    firstField(this.first).focus();
  };

  Flow.prototype.nextStep = function (data) {
    var step = data.step;
    var form = this.steps[step.kind];
    if (!form) {
      this.showError([message("RES_SERVER_ERROR")]);
      return;
    }
    this.token = data.flow;
    form.reset();
    if (step.kind === "question") {
      form.querySelector("[data-pw-progress]").textContent =
        message("UI_QUESTION_PROGRESS", [step.index, step.total]);
      form.querySelector("[data-pw-prompt]").textContent = text(step.prompt);
    } else if (step.kind === "code") {
      var list = form.querySelector("[data-pw-destinations]");
      list.textContent = "";
      (Array.isArray(step.destinations) ? step.destinations : [step.destination]).forEach(function (to) {
        if (text(to)) {
          // A masked address or number reads left to right on every page, and its
          // bullet stays at the start of the page's lines (the right, in Arabic).
          var item = document.createElement("li");
          var value = document.createElement("bdi");
          value.dir = "ltr";
          value.textContent = text(to);
          item.appendChild(value);
          list.appendChild(item);
        }
      });
    } else if (step.kind === "password") {
      var policy = form.querySelector("[data-pw-policy]");
      policy.querySelector("[data-pw-policy-text]").textContent = text(step.policy);
      policy.hidden = !text(step.policy);
    }
    this.clearError();
    this.showStep(form);
    firstField(form).focus();
  };

  Flow.prototype.body = function (form) {
    var step = form.getAttribute("data-post") === "step";
    var body = step ? { flow: this.token } : { lang: document.documentElement.lang || "en" };
    fieldsOf(form).forEach(function (field) {
      if (!field.hasAttribute("data-local")) {
        var value = field.type === "password" ? field.value : text(field.value);
        if (value || field.name !== "email") {
          body[field.name] = value;
        }
      }
    });
    if (this.questions && form === this.first) {
      body.answers = this.questions.answers();
    }
    return body;
  };

  Flow.prototype.submit = function () {
    var self = this;
    var form = self.form;
    var post = form.getAttribute("data-post");
    if (form === self.first) {
      PREFILL.forEach(function (name) {
        var field = form.elements.namedItem(name);
        self.identity[name] = field ? text(field.value) : "";
      });
    }
    self.setBusy(true);
    call("POST", self.endpoint + (post ? "/" + post : ""), self.body(form)).then(function (reply) {
      self.setBusy(false);
      var data = reply.data;
      if (reply.ok && data && data.status === "done") {
        self.finish(data.message);
      } else if (reply.ok && data && data.flow && data.step && typeof data.step === "object") {
        self.nextStep(data);
      } else if (!data || typeof data !== "object") {
        self.showError([message("RES_REQUEST_FAILED")]);
      } else {
        self.problem(data);
      }
      announceIdle();
    });
  };

  Flow.prototype.onSubmit = function (event) {
    event.preventDefault();
    if (this.busy || event.currentTarget !== this.form) {
      return;
    }
    this.clearError();
    var problem = checkFields(this.form) ||
      (this.questions && this.form === this.first ? this.questions.check() : null);
    if (problem) {
      this.showError([message(problem[0], problem[2]) || problem[0]], problem[1]);
      announceIdle();
      return;
    }
    this.submit();
  };

  Flow.prototype.start = function () {
    var self = this;
    Object.keys(self.steps).forEach(function (name) {
      self.steps[name].addEventListener("submit", function (event) { self.onSubmit(event); });
    });
    var restart = self.stoppedBox && self.stoppedBox.querySelector("[data-pw-restart]");
    if (restart) {
      restart.addEventListener("click", function () { self.startAgain(); });
    }
    prefill(self.first);
    if (!self.questions) {
      self.button(self.first).disabled = false;
      announceIdle();
      return;
    }
    // Enroll: the question blocks need the server's settings first.
    call("GET", "meta").then(function (reply) {
      if (reply.ok && reply.data && typeof reply.data === "object" && !reply.data.message) {
        self.questions.build(reply.data);
        self.button(self.first).disabled = false;
      } else {
        self.questions.box.removeAttribute("aria-busy");
        self.showError(errorLines(reply.data));
      }
      announceIdle();
    });
  };

  /* --- the menu's ?cmd= links and the critical-error page ----------------------------------- */

  // index.html?cmd=reset&username=…&domain=… opens that flow's page with the fields filled.
  function followCommand() {
    var query = new URLSearchParams(window.location.search);
    var command = (query.get("cmd") || "").toLowerCase().replace(/[^a-z]/g, "");
    var link = command ? document.querySelector('a[data-flow="' + command + '"]') : null;
    if (!link) {
      return false;
    }
    var target = new URLSearchParams();
    PREFILL.forEach(function (name) {
      if (query.get(name)) {
        target.set(name, query.get(name).slice(0, 256));
      }
    });
    var rest = target.toString();
    window.location.replace(link.getAttribute("href") + (rest ? "?" + rest : ""));
    return true;
  }

  function showCriticalError(page) {
    var shown = message(new URLSearchParams(window.location.search).get("message"));
    if (shown) {
      page.querySelector("[data-pw-error-text]").textContent = shown;
    }
  }

  function init() {
    watchLanguageSwitch();
    if (document.querySelector("[data-pw-menu]") && followCommand()) {
      return;
    }
    var errorPage = document.querySelector("[data-pw-error-page]");
    if (errorPage) {
      showCriticalError(errorPage);
    }
    var flows = document.querySelectorAll("[data-pw-flow]");
    flows.forEach(function (card) {
      new Flow(card).start();
    });
    if (!flows.length) {
      announceIdle();
    }
  }

  if (chooseLanguage()) {
    return;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
