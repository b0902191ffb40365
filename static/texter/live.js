// The page's one websocket to /ws/texter/. Reconnects by itself with backoff; texters never poll.
// Subscribers get the server's events ({event: "reply_received", ...}) and {event: "reconnected"}
// after a dropped connection comes back (events may have been missed: refresh what you show).

const listeners = new Set();
let socket = null;
let delay = 1000;
let everOpen = false;
let keepAlive = null;

function emit(message) {
  for (const listener of listeners) {
    try {
      listener(message);
    } catch (error) {
      console.error(error);
    }
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/texter/`);
  socket.addEventListener("open", () => {
    // Lets CSS (and the browser tests) tell a live page from one that is reconnecting.
    document.documentElement.dataset.live = "open";
    delay = 1000;
    if (everOpen) emit({ event: "reconnected" });
    everOpen = true;
    // Proxies close idle sockets; a ping every 25 s keeps this one open (it fetches nothing).
    clearInterval(keepAlive);
    keepAlive = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('{"type":"ping"}'), 25000);
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message && message.event && message.event !== "pong") emit(message);
  });
  socket.addEventListener("close", (event) => {
    document.documentElement.dataset.live = "closed";
    clearInterval(keepAlive);
    if (event.code === 4401 || event.code === 4403) return; // logged out, or no organization: retrying cannot help
    const wait = delay + Math.random() * delay * 0.3;
    delay = Math.min(delay * 2, 30000);
    setTimeout(connect, wait);
  });
}

export function onLive(listener) {
  listeners.add(listener);
  if (!socket) connect();
  return () => listeners.delete(listener);
}

// Drop the connection as a flaky network would (the browser tests use it to check the page
// reconnects and catches up). The page reconnects by itself after the usual backoff.
export function dropConnection() {
  socket?.close(4000, "dropped");
}
