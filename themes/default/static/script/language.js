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
