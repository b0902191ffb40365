// Send first messages: one contact at a time. The next contact is fetched while the texter reads
// the current one, so Send swaps it in at once (no page reload). Each contact shown gets a fresh
// send key: a double click or a retried request is recognised by the server as a duplicate.

import { ActionError, getHTML, getJSON, postJSON } from "./http.js";
import { onLive } from "./live.js";
import {
  announce, bindCounter, bindSideToggle, bindWorkKeys, coalesce, newSendKey, setSide, tickClocks,
} from "./ui.js";

const page = document.body.dataset;
const stage = document.querySelector("[data-slot]");
const progress = document.querySelector("[data-progress]");
const MOVE_ON = new Set(["duplicate", "already_messaged", "opted_out", "not_assigned", "outside_hours"]);
const PREFETCH_TTL = 60000;
const MOVED_AWAY = {
  gone: "This contact was reassigned by an organizer — moving on.",
  released: "You handed your unsent contacts back — moving on.",
  opted_out: "This contact opted out — moving on.",
};
let handedBack = false; // "Done for today" from another tab took the contacts away, not an organizer

let done = 0; // contacts sent or skipped on this page
let total = Number(page.total) || 0; // done + what can be sent now
let current = null; // {el, id, name, key}
let prefetched = null; // {after, at, promise}
let busy = false;

function renderProgress() {
  if (!progress) return;
  progress.hidden = !current;
  progress.querySelector("[data-position]").textContent = String(Math.min(done + 1, Math.max(total, 1)));
  progress.querySelector("[data-total]").textContent = String(Math.max(total, done + 1));
}

function itemUrl(query) {
  return `${page.nextUrl}?${new URLSearchParams(query)}`;
}

function prefetch() {
  if (!current) return (prefetched = null);
  const promise = getHTML(itemUrl({ after: current.id }));
  promise.catch(() => {});
  prefetched = { after: current.id, at: Date.now(), promise };
}

function show(el, { announceName = true } = {}) {
  stage.replaceChildren(el);
  if (el.dataset.state === "contact") {
    current = { el, id: Number(el.dataset.contactId), name: el.dataset.contactName, key: newSendKey() };
    bindCounter(el);
    bindSideToggle(el);
    tickClocks(el);
    el.querySelector("[data-compose-form]").addEventListener("submit", (event) => {
      event.preventDefault();
      send();
    });
    el.querySelector('[data-action="skip"]').addEventListener("click", skip);
    const compose = el.querySelector("[data-compose]");
    (compose.readOnly ? el.querySelector('[data-action="send"]') : compose).focus({ preventScroll: true });
    if (announceName) announce(`Next: ${current.name}`);
    prefetch();
  } else {
    current = null;
    prefetched = null;
    el.querySelector("[data-request-more]")?.addEventListener("submit", requestMore);
    el.querySelector("[data-focus-target]")?.focus();
  }
  renderProgress();
}

// Dynamic assignment: "Request more" on the "All sent" screen brings the next batch in place.
async function requestMore(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button");
  const problem = form.closest("[data-item]")?.querySelector("[data-request-more-error]");
  button.disabled = true;
  try {
    const result = await postJSON(form.action, {});
    announce(result.message);
    done = 0;
    const el = await getHTML(itemUrl({}));
    total = Number(el.dataset.sendable) || 0;
    show(el);
  } catch (error) {
    button.disabled = false;
    if (problem) {
      problem.textContent = error.message;
      problem.hidden = false;
    }
    announce(error.message, { error: true });
  }
}

async function nextAfter(id) {
  const fresh = prefetched && prefetched.after === id && Date.now() - prefetched.at < PREFETCH_TTL;
  try {
    if (fresh) return await prefetched.promise;
  } catch {
    /* fetch it again below */
  }
  return getHTML(itemUrl({ after: id }));
}

async function advance(fromId) {
  try {
    show(await nextAfter(fromId), { announceName: false });
  } catch (error) {
    announce(error.message, { error: true });
  }
}

function setBusy(value) {
  busy = value;
  current?.el.querySelectorAll("[data-action]").forEach((button) => (button.disabled = value));
}

async function send() {
  if (!current || busy) return;
  const { el, id, key, name } = current;
  const body = el.querySelector("[data-compose]").value;
  if (!body.trim()) return announce("Write a message before sending.", { error: true });
  setBusy(true);
  try {
    await postJSON(el.dataset.sendUrl, { body, send_key: key, first_message: true });
    announce(`Sent to ${name}.`);
  } catch (error) {
    if (!(error instanceof ActionError) || !MOVE_ON.has(error.code)) {
      // Stay on this contact with the same send key: pressing Send again is a safe retry.
      setBusy(false);
      return announce(error.message, { error: true });
    }
    if (error.code === "duplicate") announce(`Sent to ${name}.`);
    else announce(error.message, { error: true });
  }
  done += 1;
  setBusy(false);
  await advance(id);
}

async function skip() {
  if (!current || busy) return;
  const { el, id, name } = current;
  setBusy(true);
  try {
    await postJSON(el.dataset.skipUrl, {});
    announce(`Skipped ${name}.`);
  } catch (error) {
    if (error.code !== "not_assigned") {
      setBusy(false);
      return announce(error.message, { error: true });
    }
    announce(error.message, { error: true });
  }
  done += 1;
  setBusy(false);
  await advance(id);
}

// Look at the next or previous contact without sending.
async function move(direction) {
  if (!current || busy) return;
  try {
    const el = await getHTML(itemUrl(direction > 0 ? { after: current.id } : { before: current.id }));
    if (el.dataset.state !== "contact") return announce("No other contact to go to right now.");
    show(el);
  } catch (error) {
    announce(error.message, { error: true });
  }
}

bindWorkKeys({
  active: () => true, // moving back from "All sent" works too
  escape: () => current && setSide(current.el, false),
  skip,
  move,
  send: () => current && send(),
});

// The contact on screen was taken away (an organizer reassigned them, or they opted out): say so
// and bring in the next one.
async function movedAway(message) {
  if (!current) return;
  const { id } = current;
  announce(message, { error: true });
  prefetched = null;
  done += 1;
  await advance(id);
}

// Live: more contacts assigned, some taken away, or one of them changed. Update the count; the
// contact on screen stays unless it is no longer the texter's to send to.
const refreshCounts = coalesce(async () => {
  const shown = current?.id;
  const counts = await getJSON(shown ? `${page.countsUrl}?contact=${shown}` : page.countsUrl);
  total = done + counts.sendable;
  renderProgress();
  if (shown && current?.id === shown && !busy && counts.contact_state in MOVED_AWAY) {
    const reason = counts.contact_state === "gone" && handedBack ? "released" : counts.contact_state;
    handedBack = false;
    return movedAway(MOVED_AWAY[reason]);
  }
  if (!current && counts.sendable > 0) show(await getHTML(itemUrl({})));
});

onLive((message) => {
  const campaignId = Number(page.campaignId);
  if (message.event === "contacts_reassigned" && current && (message.contact_ids || []).includes(current.id)) {
    movedAway(MOVED_AWAY.gone);
  } else if (message.event === "contact_changed") {
    // Perhaps the contact fetched ahead opted out: fetch it again rather than show stale. (The one
    // on screen is checked by refreshCounts.)
    if (current && message.contact_id !== current.id) prefetch();
    refreshCounts();
  } else if (message.event === "reconnected" || message.campaign_id === campaignId) {
    if (message.event === "counts_changed" && message.released) handedBack = true;
    if (message.event !== "reconnected") prefetch();
    refreshCounts();
  }
});

show(stage.querySelector("[data-item]"), { announceName: false });

// Keys work from here on (the browser tests wait for this before typing).
document.documentElement.dataset.ready = "true";
