// Talking to the server: JSON actions with the CSRF token, HTML fragments to swap in.

export class ActionError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function request(url, options) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...options });
  } catch {
    throw new ActionError("No connection. Check your internet, then try again.", "network", 0);
  }
  // login_required answers a redirect to the login page: the session ended.
  if (response.redirected && new URL(response.url).pathname.startsWith("/accounts/login")) {
    throw new ActionError("You were logged out. Reload the page and log in again.", "logged_out", 401);
  }
  return response;
}

export async function postJSON(url, data) {
  const response = await request(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(data),
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    if (body && body.error) throw new ActionError(body.error, body.code, response.status);
    if (response.status === 403) {
      throw new ActionError("Your session expired. Reload the page, then try again.", "forbidden", 403);
    }
    throw new ActionError(`Something went wrong on our side (${response.status}). Try again.`, "server", response.status);
  }
  return body;
}

export async function getJSON(url) {
  const response = await request(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new ActionError(`Couldn't load (${response.status}).`, "server", response.status);
  return response.json();
}

// Fetch an HTML fragment and return its first element (or a fragment when `all` is set).
export async function getHTML(url, { all = false } = {}) {
  const response = await request(url, { headers: { Accept: "text/html" } });
  if (!response.ok) throw new ActionError(`Couldn't load the next one (${response.status}). Try again.`, "server", response.status);
  const template = document.createElement("template");
  template.innerHTML = await response.text();
  return all ? template.content : template.content.firstElementChild;
}

// The swappable part ([data-item]) of a whole page, for pages that are not a queue.
export async function getPageItem(url) {
  const response = await request(url, { headers: { Accept: "text/html" } });
  if (!response.ok) throw new ActionError(`Couldn't reload this conversation (${response.status}).`, "server", response.status);
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  return document.adoptNode(doc.querySelector("[data-item]"));
}
