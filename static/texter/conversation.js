// Respond: one conversation at a time (the replies queue), or a single conversation.
// Survey answers, canned responses, tags, opt-out and skip act on the conversation shown; in the
// queue, Send / Skip / Opt out bring the next one in at once (fetched ahead). Live events never
// take the conversation away: they refresh its thread, update the count and show a banner.

import { ActionError, getHTML, getJSON, getPageItem, postJSON } from "./http.js";
import { onLive } from "./live.js";
import {
  announce, bindCounter, bindSideToggle, bindWorkKeys, coalesce, isActivatable, isTyping, localizeTimes, newSendKey,
  setSide, tickClocks,
} from "./ui.js";

const page = document.body.dataset;
const inQueue = Boolean(page.nextUrl);
const slot = document.querySelector("[data-slot]");
const waiting = document.querySelector("[data-waiting]");
const banner = document.querySelector("[data-banner]");
const MOVE_ON = new Set(["opted_out", "not_assigned"]);
const PREFETCH_TTL = 30000;

let current = null; // {el, id, name, cursor, key, updateCounter}
let prefetched = null; // {cursor, at, promise}
let busy = false;
let newReplies = 0;

const $ = (selector) => current?.el.querySelector(selector);

function itemUrl(query) {
  return `${page.nextUrl}?${new URLSearchParams(query)}`;
}

function prefetch() {
  if (!inQueue || !current) return (prefetched = null);
  const promise = getHTML(itemUrl({ after: current.cursor }));
  promise.catch(() => {});
  prefetched = { cursor: current.cursor, at: Date.now(), promise };
}

function scrollThreadToEnd() {
  const scroller = $("[data-thread-scroll]");
  if (scroller) scroller.scrollTop = scroller.scrollHeight;
}

// The queue keeps the conversation on screen in the address (?contact=<id>): a refresh, or the
// browser restoring the tab, shows the same conversation again instead of the queue's oldest.
function remember(contactId) {
  if (!inQueue) return;
  const url = new URL(location.href);
  if (contactId) url.searchParams.set("contact", String(contactId));
  else url.searchParams.delete("contact");
  history.replaceState(history.state, "", url);
}

function show(el, { announceName = true } = {}) {
  slot.replaceChildren(el);
  if (el.dataset.waiting && waiting) waiting.textContent = el.dataset.waiting;
  if (el.dataset.state !== "convo") {
    current = null;
    prefetched = null;
    remember(null);
    el.querySelector("[data-focus-target]")?.focus();
    return;
  }
  remember(el.dataset.contactId);
  current = {
    el,
    id: Number(el.dataset.contactId),
    name: el.dataset.contactName,
    cursor: el.dataset.cursor,
    key: newSendKey(),
  };
  current.updateCounter = bindCounter(el);
  bindSideToggle(el);
  tickClocks(el);
  localizeTimes(el);
  scrollThreadToEnd();
  el.querySelector("[data-compose-form]").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  el.addEventListener("click", onClick);
  el.querySelector("[data-canned-search]")?.addEventListener("input", filterCanned);
  el.querySelector("[data-optout-dialog]")?.addEventListener("close", onOptOutClose);
  // Focus the contact's name, not the compose box: keys 1-9 then pick an answer, which fills the
  // box and focuses it, and Enter sends. Typing any other character goes to the box.
  $("[data-focus-target]").focus({ preventScroll: true });
  if (announceName) announce(`Conversation with ${current.name}`);
  prefetch();
}

function fillCompose(text) {
  setSide(current.el, false); // on a phone the panel covers the compose box: show the box
  const compose = $("[data-compose]");
  compose.value = text;
  current.updateCounter?.();
  compose.focus();
  compose.setSelectionRange(text.length, text.length);
}

function onClick(event) {
  const target = event.target.closest("button");
  if (!target || !current) return;
  if (target.dataset.answerId) return answer(target);
  if (target.dataset.tagId) return toggleTag(target);
  if (target.dataset.cannedText !== undefined) return fillCompose(target.dataset.cannedText);
  if (target.dataset.retry !== undefined) return fillCompose(target.dataset.retry);
  if (target.dataset.action === "skip") return skip();
  if (target.dataset.action === "optout") return $("[data-optout-dialog]")?.showModal();
}

function filterCanned(event) {
  const query = event.target.value.trim().toLowerCase();
  let shown = 0;
  for (const item of current.el.querySelectorAll("[data-canned-list] li")) {
    const match = !query || item.textContent.toLowerCase().includes(query);
    item.hidden = !match;
    shown += match;
  }
  $("[data-canned-none]").hidden = shown > 0;
}

function setBusy(value) {
  busy = value;
  current?.el.querySelectorAll("[data-action]").forEach((button) => (button.disabled = value));
}

async function refreshThread() {
  if (!current) return;
  const { el } = current;
  const fragment = await getHTML(el.dataset.threadUrl, { all: true });
  if (current?.el !== el) return;
  const thread = $("[data-thread]");
  const scroller = $("[data-thread-scroll]");
  const atEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  thread.replaceChildren(fragment);
  localizeTimes(thread);
  if (atEnd) scrollThreadToEnd();
}

// After Send, Skip or Opt out in the queue, the next conversation comes in; otherwise stay.
async function finish(message) {
  announce(message);
  if (!inQueue) {
    // One conversation: show it again as it is now (new message, closed, opted out).
    try {
      show(await getPageItem(location.pathname), { announceName: false });
    } catch (error) {
      announce(error.message, { error: true });
    }
    return;
  }
  const cursor = current.cursor;
  let el = null;
  const fresh = prefetched && prefetched.cursor === cursor && Date.now() - prefetched.at < PREFETCH_TTL;
  try {
    el = fresh ? await prefetched.promise : null;
  } catch {
    el = null;
  }
  try {
    show(el || (await getHTML(itemUrl({ after: cursor }))), { announceName: false });
    hideBanner();
    refreshCounts();
  } catch (error) {
    announce(error.message, { error: true });
  }
}

async function act(run, success) {
  if (!current || busy) return;
  setBusy(true);
  try {
    await run();
  } catch (error) {
    setBusy(false);
    if (error instanceof ActionError && MOVE_ON.has(error.code) && inQueue) return finish(error.message);
    return announce(error.message, { error: true });
  }
  setBusy(false);
  await finish(success);
}

function send() {
  const { el, key, name } = current || {};
  const body = $("[data-compose]")?.value ?? "";
  if (!current) return;
  if ($("[data-compose]").disabled) return announce("This contact opted out: no more texts to them.", { error: true });
  if (!body.trim()) return announce("Write a message, or pick an answer or a canned response.", { error: true });
  return act(async () => {
    try {
      await postJSON(el.dataset.sendUrl, { body, send_key: key });
    } catch (error) {
      if (error.code !== "duplicate") throw error; // the first press went through
    }
    $("[data-compose]").value = "";
    current.updateCounter?.();
  }, `Sent to ${name}.`);
}

function skip() {
  if (!current) return;
  const { el, name } = current;
  return act(() => postJSON(el.dataset.skipUrl, {}), `Closed the conversation with ${name}.`);
}

function onOptOutClose(event) {
  const dialog = event.target;
  if (dialog.returnValue !== "confirm" || !current) return;
  dialog.returnValue = "";
  const { el, name } = current;
  const sendMessage = el.querySelector("[data-optout-send]").checked;
  act(() => postJSON(el.dataset.optoutUrl, { send_message: sendMessage ? 1 : 0 }), `${name} is opted out.`);
}

async function answer(button) {
  const { el } = current;
  try {
    const result = await postJSON(el.dataset.answerUrl, { step_id: Number(button.dataset.answerId) });
    if (current?.el !== el) return;
    $("[data-survey]").innerHTML = result.survey_html;
    fillCompose(result.script);
    announce(`Answer recorded: ${button.textContent.replace(/^\s*\d\s*/, "").trim()}`);
  } catch (error) {
    announce(error.message, { error: true });
  }
}

async function toggleTag(chip) {
  const { el } = current;
  chip.setAttribute("aria-pressed", chip.getAttribute("aria-pressed") === "true" ? "false" : "true");
  const chips = [...el.querySelectorAll("[data-tag-id]")];
  const wanted = chips.filter((c) => c.getAttribute("aria-pressed") === "true").map((c) => Number(c.dataset.tagId));
  try {
    const result = await postJSON(el.dataset.tagsUrl, { tag_ids: wanted });
    const saved = new Set(result.tag_ids);
    chips.forEach((c) => c.setAttribute("aria-pressed", String(saved.has(Number(c.dataset.tagId)))));
    announce(`Tags saved${saved.size ? `: ${chips.filter((c) => saved.has(Number(c.dataset.tagId))).map((c) => c.textContent).join(", ")}` : ""}.`);
  } catch (error) {
    chip.setAttribute("aria-pressed", chip.getAttribute("aria-pressed") === "true" ? "false" : "true");
    announce(error.message, { error: true });
  }
}

// Look at the next or previous conversation without replying.
async function move(direction) {
  if (!inQueue || !current || busy) return;
  try {
    const el = await getHTML(itemUrl(direction > 0 ? { after: current.cursor } : { before: current.cursor }));
    if (el.dataset.state !== "convo") return announce("No other conversation to go to right now.");
    show(el);
  } catch (error) {
    announce(error.message, { error: true });
  }
}

function pickAnswer(number) {
  const buttons = current?.el.querySelectorAll("[data-current-question] [data-answer-id]") ?? [];
  if (!buttons[number - 1]) return false;
  answer(buttons[number - 1]);
  return true;
}

bindWorkKeys({
  active: () => Boolean(current),
  escape: (target) => {
    if (target instanceof HTMLElement && target.matches("[data-compose]")) return $("[data-focus-target]").focus();
    return setSide(current.el, false);
  },
  skip,
  move,
  send,
  other: (event, target) => {
    if (event.key.length !== 1 || event.ctrlKey || event.metaKey || event.altKey || isTyping(target)) return;
    if (/^[1-9]$/.test(event.key) && pickAnswer(Number(event.key))) return event.preventDefault();
    if (event.key !== " " || !isActivatable(target)) $("[data-compose]").focus(); // the character lands there
  },
});

// --- Live updates ------------------------------------------------------------------------------

function showBanner() {
  if (!banner) return;
  banner.querySelector("[data-banner-text]").textContent =
    `${newReplies} new repl${newReplies === 1 ? "y" : "ies"} in your queue`;
  banner.hidden = false;
}

function hideBanner() {
  newReplies = 0;
  if (banner) banner.hidden = true;
}
banner?.querySelector("[data-banner-close]").addEventListener("click", hideBanner);

const REASSIGNED = "This contact was reassigned by an organizer — moving on.";

// The conversation on screen was taken away by an organizer: say so, and in the queue move on.
function movedAway() {
  if (!current) return;
  if (inQueue) return finish(REASSIGNED);
  announce("This contact was reassigned by an organizer: you can no longer text them.", { error: true });
  current.el.querySelectorAll("[data-action], [data-compose]").forEach((control) => (control.disabled = true));
}

const refreshCounts = coalesce(async () => {
  const shown = current?.id;
  const counts = await getJSON(shown ? `${page.countsUrl}?contact=${shown}` : page.countsUrl);
  if (shown && current?.id === shown && counts.contact_state === "gone" && !busy) return movedAway();
  if (!inQueue) return;
  if (waiting) waiting.textContent = String(counts.answerable);
  if (!current && counts.answerable > 0) {
    show(await getHTML(itemUrl({})));
    hideBanner();
  }
});

onLive((message) => {
  const campaignId = Number(page.campaignId);
  const forCurrent = current && message.contact_id === current.id;
  if (message.event === "contacts_reassigned" && current && (message.contact_ids || []).includes(current.id)) {
    return movedAway();
  }
  if (message.event === "reply_received" || message.event === "contact_changed") {
    if (forCurrent) {
      refreshThread().catch(() => {});
      if (message.event === "reply_received") announce(`New message from ${current.name}`);
    } else if (message.event === "reply_received" && message.campaign_id === campaignId && inQueue && current) {
      newReplies += 1;
      showBanner();
      prefetch(); // the conversation fetched ahead may be the one that changed
    }
  }
  if (message.event === "reconnected") refreshThread().catch(() => {});
  if (message.event === "reconnected" || message.campaign_id === campaignId || message.event === "contact_changed") {
    refreshCounts();
  }
});

show(slot.querySelector("[data-item]"), { announceName: false });

// Keys work from here on (the browser tests wait for this before typing).
document.documentElement.dataset.ready = "true";
