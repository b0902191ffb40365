// The back office's live campaign pages: one websocket per page, joined to `campaign.<id>`.
// Pages mark what updates with data attributes; no framework, no build step.
//
//   [data-campaign-live="12"]                 connect to /ws/campaign/12/
//   [data-import-progress]                    an upload's progress bar (upload page)
//   [data-live-refresh="30"]                  re-fetch this page every 30 s and on any event,
//                                             swapping every [data-live-panel] by id (dashboard)
//
// A lost socket reconnects with backoff; the page also polls, so it stays right without one.

const root = document.querySelector("[data-campaign-live]");
const campaignId = root ? root.dataset.campaignLive : null;
const status = document.querySelector("[data-live-status]");
const handlers = [];

function setStatus(on) {
  if (!status) return;
  status.classList.toggle("on", on);
  status.textContent = on ? "Live" : "Reconnecting…";
}

function connect(delay) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/campaign/${campaignId}/`);
  socket.addEventListener("open", () => { delay = 1000; setStatus(true); });
  socket.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    handlers.forEach((handler) => handler(data));
  });
  socket.addEventListener("close", () => {
    setStatus(false);
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
  const every = Number(refreshing.dataset.liveRefresh || 30) * 1000;
  let pending = null;
  async function refresh() {
    pending = null;
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
    } catch (error) { /* the next tick tries again */ }
  }
  handlers.push(() => { if (!pending) pending = setTimeout(refresh, 1500); });
  setInterval(refresh, every);
  // An export's progress also arrives here: the export panel is one of the live panels.
}

if (campaignId) connect(1000);
document.documentElement.dataset.ready = "true";
