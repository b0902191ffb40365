// The script tree editor: the first message, its question, and answers nested to any depth,
// each with its script and next question. Add, remove and reorder answers; click a field chip to
// insert it at the cursor; every script shows its length in characters and SMS segments; the first
// message warns when it has no opt-out language or doesn't name the organization.
// The whole tree is posted as JSON in one hidden field; the server replaces the script with it.

const form = document.getElementById("script-form");
const editor = document.getElementById("script-editor");
const input = document.getElementById("script-tree-input");
const canEdit = form.dataset.canEdit === "true";
const organization = form.dataset.organization || "";
const optOutWords = JSON.parse(document.getElementById("opt-out-words").textContent);
let lastFocused = null;

// --- SMS length --------------------------------------------------------------------------------

const GSM7 = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
);
const GSM7_EXTENDED = new Set("^{}\\[~]|€\f");

export function segments(text) {
  let units = 0;
  let gsm = true;
  for (const ch of text) {
    if (GSM7.has(ch)) units += 1;
    else if (GSM7_EXTENDED.has(ch)) units += 2;
    else { gsm = false; break; }
  }
  if (!gsm) {
    const length = [...text].length;
    return { length, segments: length <= 70 ? 1 : Math.ceil(length / 67), encoding: "Unicode" };
  }
  return { length: units, segments: units <= 160 ? 1 : Math.ceil(units / 153), encoding: "GSM" };
}

// --- Building the tree -------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  children.forEach((child) => child && node.append(child));
  return node;
}

let counter = 0;
function field(label, kind, value, placeholder, multiline) {
  const id = `step-field-${++counter}`;
  const control = multiline
    ? el("textarea", { id, rows: "3", "data-field": kind, placeholder })
    : el("input", { id, type: "text", "data-field": kind, placeholder });
  control.value = value || "";
  if (!canEdit) control.readOnly = true;
  const wrap = el("div", { class: `spoke-step-field spoke-step-${kind}` }, el("label", { for: id, text: label }), control);
  if (multiline) {
    const count = el("div", { class: "spoke-count", "data-count": "" });
    wrap.append(count);
    const update = () => {
      const info = segments(control.value);
      count.textContent = `${info.length} characters · ${info.segments} segment${info.segments === 1 ? "" : "s"} (${info.encoding})`;
      count.classList.toggle("spoke-count-long", info.segments > 2);
    };
    control.addEventListener("input", update);
    update();
  }
  return wrap;
}

function stepNode(data, depth) {
  const isRoot = depth === 0;
  const node = el("div", { class: `spoke-step${isRoot ? " spoke-step-root" : ""}`, "data-step": "" });
  if (data.id) node.dataset.id = String(data.id);
  if (!isRoot) {
    const head = el("div", { class: "spoke-step-head" }, field("Answer", "answer", data.answer, "Like “Yes”", false));
    if (canEdit) {
      head.append(
        el("button", { type: "button", class: "button", "data-action": "up", title: "Move up", "aria-label": "Move this answer up", text: "↑" }),
        el("button", { type: "button", class: "button", "data-action": "down", title: "Move down", "aria-label": "Move this answer down", text: "↓" }),
        el("button", { type: "button", class: "button spoke-danger", "data-action": "remove", text: "Remove" }),
      );
    }
    node.append(head);
  }
  node.append(
    field(isRoot ? "First message" : "Texter sends", "script", data.script,
      isRoot ? "Hi {firstName}, this is {texterFirstName} with … Reply STOP to opt out." : "What the texter texts back", true),
  );
  if (isRoot) node.append(el("ul", { class: "spoke-warnings", "data-warnings": "" }));
  node.append(field(isRoot ? "Question" : "Next question (optional)", "question", data.question,
    isRoot ? "Like “Can we count on your vote?”" : "Asked after this answer", false));
  const answers = el("div", { class: "spoke-answers", "data-answers": "" });
  (data.children || []).forEach((child) => answers.append(stepNode(child, depth + 1)));
  node.append(answers);
  if (canEdit) {
    node.append(el("button", { type: "button", class: "button spoke-add", "data-action": "add", text: isRoot ? "+ Add an answer to the question" : "+ Add an answer to the next question" }));
  }
  return node;
}

function serialize(node) {
  const value = (kind) => node.querySelector(`:scope > * [data-field="${kind}"], :scope > [data-field="${kind}"]`)?.value ?? "";
  const answers = node.querySelector(":scope > [data-answers]");
  return {
    id: node.dataset.id ? Number(node.dataset.id) : null,
    answer: node.classList.contains("spoke-step-root") ? "" : node.querySelector(":scope > .spoke-step-head [data-field=answer]").value,
    script: value("script"),
    question: value("question"),
    children: [...answers.children].map(serialize),
  };
}

function checkFirstMessage() {
  const root = editor.querySelector(".spoke-step-root");
  const text = root.querySelector(":scope > .spoke-step-script textarea").value;
  const list = root.querySelector("[data-warnings]");
  list.replaceChildren();
  if (!text.trim()) return;
  const lower = text.toLowerCase();
  if (!optOutWords.some((word) => lower.includes(word))) {
    list.append(el("li", { text: "No opt-out language: add something like “Reply STOP to opt out”." }));
  }
  if (organization && !lower.includes(organization.toLowerCase())) {
    list.append(el("li", { text: `Doesn't name your organization (“${organization}”): say who is texting.` }));
  }
}

// --- Events ------------------------------------------------------------------------------------

editor.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action]");
  if (!button) return;
  const step = button.closest("[data-step]");
  const action = button.dataset.action;
  if (action === "add") {
    const child = stepNode({ answer: "", script: "", question: "", children: [] }, 1);
    step.querySelector(":scope > [data-answers]").append(child);
    child.querySelector("[data-field=answer]").focus();
  } else if (action === "remove") {
    const label = step.querySelector("[data-field=answer]").value || "this answer";
    const nested = step.querySelectorAll("[data-step]").length;
    if (nested && !confirm(`Remove “${label}” and the ${nested} answer${nested === 1 ? "" : "s"} below it?`)) return;
    step.remove();
  } else if (action === "up" && step.previousElementSibling) {
    step.parentNode.insertBefore(step, step.previousElementSibling);
    button.focus();
  } else if (action === "down" && step.nextElementSibling) {
    step.parentNode.insertBefore(step.nextElementSibling, step);
    button.focus();
  }
});

editor.addEventListener("focusin", (event) => {
  if (event.target.matches("textarea, input[data-field=question]")) lastFocused = event.target;
});
editor.addEventListener("input", (event) => {
  if (event.target.closest(".spoke-step-root > .spoke-step-script")) checkFirstMessage();
});

document.querySelectorAll("[data-chip]").forEach((chip) => {
  chip.addEventListener("click", () => {
    const target = lastFocused || editor.querySelector("textarea");
    if (!target || target.readOnly) return;
    const token = `{${chip.dataset.chip}}`;
    const start = target.selectionStart ?? target.value.length;
    const end = target.selectionEnd ?? start;
    target.value = target.value.slice(0, start) + token + target.value.slice(end);
    target.focus();
    target.setSelectionRange(start + token.length, start + token.length);
    target.dispatchEvent(new Event("input", { bubbles: true }));
  });
});

form.addEventListener("submit", () => {
  input.value = JSON.stringify(serialize(editor.querySelector(".spoke-step-root")));
});

editor.append(stepNode(JSON.parse(document.getElementById("script-tree").textContent), 0));
checkFirstMessage();
document.documentElement.dataset.ready = "true";
