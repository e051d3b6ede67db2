/*
 * pwreset state gallery player (gallery builds only, never in a production site).
 * Loaded after pwreset.js and before the page is ready, it answers the page's requests
 * with the made-up replies of one state (?state=NAME, from <meta name="pwreset-gallery">)
 * and plays that state's actions through the real page script: fill the visible step's
 * fields (or those of the form "@form" names; "#N" picks a drop-down's Nth choice), submit
 * (or click what "@click" names), wait for "pwreset:idle", repeat. When done it sets
 * data-gallery-ready on <html>, which tests and screenshots wait for.
 */
(function () {
  "use strict";

  var holder = document.querySelector('meta[name="pwreset-gallery"]');
  var states = holder ? JSON.parse(holder.getAttribute("content")) : {};
  var name = new URLSearchParams(window.location.search).get("state") || "start";
  var state = states[name] || states.start || { actions: [], replies: {}, settles: true };
  var actions = (state.actions || []).slice();
  var queues = {};
  Object.keys(state.replies || {}).forEach(function (key) {
    queues[key] = state.replies[key].slice();
  });

  function apiBase() {
    var meta = document.querySelector('meta[name="pwreset-api"]');
    return ((meta && meta.getAttribute("content")) || "").replace(/\/+$/, "");
  }

  function answer(reply) {
    if (reply.hold) {
      return new Promise(function () {}); // never answers: the page stays busy
    }
    if (reply.network) {
      return Promise.reject(new TypeError("gallery: the request did not get through"));
    }
    var type = reply.status < 400 ? "application/json" : "application/problem+json";
    return Promise.resolve(new Response(JSON.stringify(reply.body), {
      status: reply.status,
      headers: { "Content-Type": type }
    }));
  }

  window.fetch = function (url, options) {
    var method = (options && options.method) || "GET";
    var path = String(url).slice(apiBase().length).replace(/^\/+/, "");
    var key = method + " " + path;
    if (key === "GET meta" && state.meta) {
      return state.meta.hold || state.meta.network ? answer(state.meta)
        : answer({ status: 200, body: state.meta });
    }
    var queue = queues[key] || [];
    return answer(queue.length ? queue.shift()
      : { status: 503, body: { message: "RES_SERVER_ERROR", detail: "gallery: no reply for " + key } });
  };

  function ready() {
    document.documentElement.setAttribute("data-gallery-ready", "");
  }

  function play(values) {
    var form = document.querySelector(values["@form"] || "form[data-pw-step]:not([hidden])");
    if (!form) {
      return;
    }
    Object.keys(values).forEach(function (field) {
      if (field.charAt(0) === "@") {
        return;
      }
      var list = [].concat(values[field]);
      form.querySelectorAll('[name="' + field + '"]:not([disabled])').forEach(function (el, i) {
        if (el.type === "radio") {
          el.checked = el.value === list[0];
        } else if (el.tagName === "SELECT" && /^#\d+$/.test(list[i])) {
          // "#2": the second choice listed (option 0 is the "choose" placeholder), whatever
          // the page's language lists there
          el.selectedIndex = Number(list[i].slice(1));
        } else if (i < list.length) {
          el.value = list[i];
        }
      });
    });
    var button = values["@click"] && document.querySelector(values["@click"]);
    if (button) {
      button.click();
    } else if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  }

  function next() {
    var action = actions.shift();
    if (!action) {
      ready();
      return;
    }
    play(action);
    if (!actions.length && state.settles === false) {
      ready();
    }
  }

  document.addEventListener("pwreset:idle", function () {
    window.setTimeout(next, 0);
  });
  document.addEventListener("DOMContentLoaded", function () {
    if (!actions.length && state.settles === false) {
      ready();
    }
  });
})();
