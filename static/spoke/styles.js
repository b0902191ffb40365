// Styles that depend on data (a campaign's colour, a bar's length) without inline style="":
// the Content Security Policy allows no inline styles, so templates write data-style-*
// attributes and this script applies them through the CSSOM, which the policy permits.
// It also applies them to HTML inserted later (cards, fragments), through a MutationObserver.
(() => {
  const SELECTOR = "[data-style-width], [data-style-accent], [data-style-accent-strong]";

  function apply(element) {
    const { styleWidth, styleAccent, styleAccentStrong } = element.dataset;
    if (styleWidth !== undefined) element.style.width = `${Number(styleWidth) || 0}%`;
    if (styleAccent) element.style.setProperty("--accent", styleAccent);
    if (styleAccentStrong) element.style.setProperty("--accent-strong", styleAccentStrong);
  }

  function applyWithin(root) {
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    if (root.matches(SELECTOR)) apply(root);
    root.querySelectorAll(SELECTOR).forEach(apply);
  }

  function start() {
    applyWithin(document.documentElement);
    new MutationObserver((records) => {
      for (const record of records) record.addedNodes.forEach(applyWithin);
    }).observe(document.documentElement, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
