/*
 * pwreset preview: reloads the page when `pwreset preview` has rebuilt the site (preview
 * builds only, never in a production site). It asks the preview server for the current
 * build id every second; a new id means a new build. Polling a tiny file needs nothing but
 * a static server and works under the pages' strict Content-Security-Policy.
 */
(function () {
  "use strict";

  var ENDPOINT = "/__pwreset__/build-id";
  var INTERVAL_MS = 1000;
  var seen = null;

  function poll() {
    fetch(ENDPOINT, { cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (id) {
        if (id === null) {
          return;
        }
        if (seen !== null && id !== seen) {
          window.location.reload();
          return;
        }
        seen = id;
      }, function () { /* the preview server is restarting: try again */ })
      .then(function () { window.setTimeout(poll, INTERVAL_MS); });
  }

  poll();
})();
