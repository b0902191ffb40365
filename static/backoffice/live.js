// The back office's live campaign pages: one websocket per page, joined to `campaign.<id>`.
// Pages mark what updates with data attributes; no framework, no build step.
//
//   [data-campaign-live="12"]                 connect to /ws/campaign/12/
//   [data-import-progress]                    an upload's progress bar (upload page)
//   [data-live-refresh="60"]                  re-fetch this page on any event, swapping every
//                                             [data-live-panel] by id (dashboard); every 60 s
//                                             only while the socket is down
//
// The server says `stats_changed` at most once per window (2 s) per campaign: the page waits the
// window out before fetching, so what changed during it is on the page without a second event.
// A lost socket reconnects with backoff; the page fetches once when it is back (events may have
// been missed) and polls slowly only while it is down.

const root = document.querySelector("[data-campaign-live]");
const campaignId = root ? root.dataset.campaignLive : null;
const status = document.querySelector("[data-live-status]");
const handlers = [];
const connectionHandlers = []; // called with true when the socket opens, false when it drops
let everOpened = false;

function setStatus(on) {
  if (!status) return;
  status.classList.toggle("on", on);
  status.textContent = on ? "Live" : "Reconnecting…";
}

function connect(delay) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/campaign/${campaignId}/`);
  let opened = false;
  socket.addEventListener("open", () => {
    delay = 1000;
    opened = true;
    setStatus(true);
    const reconnected = everOpened;
    everOpened = true;
    connectionHandlers.forEach((handler) => handler(true, reconnected));
  });
  socket.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.event === "pong") return;
    handlers.forEach((handler) => handler(data));
  });
  socket.addEventListener("close", () => {
    setStatus(false);
    if (opened || !everOpened) connectionHandlers.forEach((handler) => handler(false, false));
    setTimeout(() => connect(Math.min(delay * 2, 30000)), delay);
  });
}

// --- Upload progress -------------------------------------------------------------------------

const progress = document.querySelector("[data-import-progress]");
if (progress) {
  const bar = progress.querySelector("span");
  const label = document.querySelector("[data-import-percent]");
  const statusUrl = progress.dataset.statusUrl;
  const importId = Number(progress.dataset.importProgress);
  let finished = progress.dataset.finished === "true";

  function show(percent, state) {
    bar.style.width = `${percent}%`;
    progress.setAttribute("aria-valuenow", String(percent));
    if (label) label.textContent = `${percent}%`;
    if (!finished && (state === "done" || state === "failed")) {
      finished = true;
      location.reload(); // the report is rendered by the server
    }
  }
  handlers.push((data) => {
    if (data.event === "import_progress" && data.import_id === importId) show(data.progress, data.status);
  });
  async function poll() {
    if (finished) return;
    try {
      const response = await fetch(statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        show(data.progress, data.status);
      }
    } catch (error) { /* the next poll tries again */ }
    setTimeout(poll, 2000);
  }
  if (!finished) setTimeout(poll, 2000);
}

// --- Dashboard panels ------------------------------------------------------------------------

const refreshing = document.querySelector("[data-live-refresh]");
if (refreshing) {
  const fallbackEvery = Number(refreshing.dataset.liveRefresh || 60) * 1000;
  let timer = null;
  let dueAt = 0;
  let nextDue = 0; // a later refresh asked for while one was waiting
  let poller = null;

  async function refresh() {
    try {
      const response = await fetch(location.href, { headers: { "X-Requested-With": "live" } });
      if (!response.ok) return;
      const html = new DOMParser().parseFromString(await response.text(), "text/html");
      html.querySelectorAll("[data-live-panel]").forEach((fresh) => {
        const current = document.getElementById(fresh.id);
        if (current) current.replaceWith(fresh);
      });
      const stamp = document.querySelector("[data-live-updated]");
      if (stamp) stamp.textContent = new Date().toLocaleTimeString();
    } catch (error) { /* the next event or poll tries again */ }
  }

  async function run() {
    timer = null;
    await refresh();
    if (nextDue) {
      const wait = Math.max(nextDue - Date.now(), 0);
      nextDue = 0;
      schedule(wait);
    }
  }

  // Debounced: at most one fetch waits at a time. A later due time is kept for after it rather
  // than pushing it back, so a steady stream of events still refreshes the page every window.
  function schedule(delay) {
    const due = Date.now() + delay;
    if (timer === null) {
      dueAt = due;
      timer = setTimeout(run, delay);
    } else if (due > dueAt) {
      nextDue = Math.max(nextDue, due);
    }
  }

  handlers.push((data) => {
    const windowMs = data.event === "stats_changed" ? Number(data.window || 2) * 1000 : 1000;
    schedule(windowMs + 500);
  });
  connectionHandlers.push((open, reconnected) => {
    if (open) {
      if (poller !== null) clearInterval(poller);
      poller = null;
      if (reconnected) schedule(0); // events sent while it was down were missed
    } else if (poller === null) {
      poller = setInterval(() => schedule(0), fallbackEvery);
    }
  });
  // An export's progress also arrives here: the export panel is one of the live panels.
}

// --- Contacts from another campaign: only the chosen campaign's questions ----------------------

const sourceSelect = document.querySelector("select[data-question-source]");
const questionSelect = sourceSelect?.form?.querySelector("select[name='question']");
if (sourceSelect && questionSelect) {
  const showQuestionsOf = () => {
    questionSelect.querySelectorAll("option[data-source]").forEach((option) => {
      option.hidden = option.dataset.source !== sourceSelect.value;
      if (option.hidden && option.selected) questionSelect.value = ""; // "Any question"
    });
    questionSelect.querySelectorAll("optgroup").forEach((group) => {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
  };
  sourceSelect.addEventListener("change", showQuestionsOf);
  showQuestionsOf();
}

if (campaignId) connect(1000);
document.documentElement.dataset.ready = "true";
