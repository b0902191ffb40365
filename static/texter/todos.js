// Todo list: counts change live. Any event refetches the cards (one request, three statements)
// and swaps them in, keeping focus on the same button.

import { coalesce } from "./ui.js";
import { onLive } from "./live.js";

const cards = document.querySelector("[data-cards]");
const url = document.body.dataset.cardsUrl;

const refresh = coalesce(async () => {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok || response.redirected) return;
  const html = await response.text();
  const focusKey = document.activeElement?.dataset?.focusKey;
  cards.innerHTML = html;
  if (focusKey) cards.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
});

onLive(() => refresh());

// Keys work from here on (the browser tests wait for this before typing).
document.documentElement.dataset.ready = "true";
