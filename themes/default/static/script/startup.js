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
