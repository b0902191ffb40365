// Small pieces shared by the texter pages: status messages, the length counter, local clocks, keys.

import { describeLength } from "./segments.js";

const status = document.querySelector("[data-status]");
let statusTimer = null;
// A message the server rendered (after a form) fades like any other.
if (status?.textContent.trim()) statusTimer = setTimeout(() => (status.textContent = ""), 8000);

// Say what happened in the page's aria-live region (shown as a toast).
export function announce(message, { error = false } = {}) {
  if (!status) return;
  clearTimeout(statusTimer);
  status.classList.toggle("is-error", error);
  status.textContent = message;
  statusTimer = setTimeout(() => (status.textContent = ""), error ? 9000 : 4000);
}

export function bindCounter(root) {
  const textarea = root.querySelector("[data-compose]");
  const counter = root.querySelector("[data-counter]");
  if (!textarea || !counter) return;
  const update = () => {
    const info = describeLength(textarea.value);
    counter.textContent = info.label;
    counter.classList.toggle("is-long", info.segments > 1);
  };
  textarea.addEventListener("input", update);
  update();
  return update;
}

// The contact's local time, kept current without asking the server.
const clockFormats = new Map();
export function tickClocks(root = document) {
  for (const el of root.querySelectorAll("[data-local-time][data-tz]")) {
    const tz = el.dataset.tz;
    try {
      if (!clockFormats.has(tz)) {
        clockFormats.set(tz, new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: tz }));
      }
      el.textContent = clockFormats.get(tz).format(new Date()).replace(" AM", " am").replace(" PM", " pm");
    } catch {
      /* unknown zone: keep the server's text */
    }
  }
}
setInterval(() => tickClocks(), 30000);

// Message times in the texter's own timezone.
const timeFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
export function localizeTimes(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const date = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(date.valueOf()) && el.closest(".bubble")) el.textContent = timeFormat.format(date);
  }
}

// A key for one press of Send. crypto.randomUUID needs a secure context (https or localhost);
// getRandomValues works everywhere, so a phone testing a dev server over plain http works too.
export function newSendKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || target.matches("input, textarea, select"));
}

export function isActivatable(target) {
  return target instanceof HTMLElement && target.matches("button, a[href], summary, input[type=checkbox]");
}

// On phones the side panel covers the thread; this button opens and closes it.
export function bindSideToggle(root) {
  const toggle = root.querySelector("[data-toggle-side]");
  if (!toggle) return;
  toggle.addEventListener("click", () => setSide(root, !root.classList.contains("show-side")));
}

export function setSide(root, open) {
  const toggle = root.querySelector("[data-toggle-side]");
  root.classList.toggle("show-side", open);
  if (toggle) toggle.setAttribute("aria-expanded", String(open));
}

// Run `task` now, or once more after the run in flight ends: bursts of events make one fetch.
export function coalesce(task) {
  let running = false;
  let again = false;
  return async function run() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await task();
    } catch (error) {
      console.error(error);
    } finally {
      running = false;
      if (again) {
        again = false;
        run();
      }
    }
  };
}

// Ctrl+> / Ctrl+< (with or without Shift, whatever the layout reports).
export function navKey(event) {
  if (!event.ctrlKey || event.altKey || event.metaKey) return 0;
  if (event.key === ">" || event.key === "." || event.code === "Period") return 1;
  if (event.key === "<" || event.key === "," || event.code === "Comma") return -1;
  return 0;
}

export function isSkipKey(event) {
  return event.ctrlKey && !event.altKey && !event.metaKey && (event.key === "y" || event.key === "Y");
}

export function isSendKey(event) {
  return event.key === "Enter" && !event.shiftKey && !event.altKey && !event.isComposing;
}

// The keys every work screen shares: Ctrl+Y skip, Ctrl+> / Ctrl+< move, Enter / Ctrl+Enter send.
// Enter on a focused button or link activates it, and in other fields it is theirs; only the compose
// box (or Ctrl+Enter anywhere) sends. `escape` and `other` handle the screen's own keys.
export function bindWorkKeys({ active, escape, skip, move, send, other = () => {} }) {
  document.addEventListener("keydown", (event) => {
    if (!active() || document.querySelector("dialog[open]")) return; // a dialog handles its own keys
    const target = event.target;
    if (event.key === "Escape") return escape(target);
    if (isSkipKey(event)) {
      event.preventDefault();
      return skip();
    }
    const direction = navKey(event);
    if (direction) {
      event.preventDefault();
      return move(direction);
    }
    if (isSendKey(event)) {
      if (isActivatable(target) && !event.ctrlKey) return;
      if (isTyping(target) && !target.matches("[data-compose]") && !event.ctrlKey) return;
      event.preventDefault();
      return send();
    }
    return other(event, target);
  });
}
