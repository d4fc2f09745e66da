// The embeddable chat widget: <script src="https://k8s-manage.example.com/widget.js" data-tenant="team-a"
// data-env="dev" data-title="Ask k8s-manage" async></script> adds a chat bubble to any internal page whose
// origin is in web.allowed_origins. It logs in with the user's password for a bearer session token (kept in
// sessionStorage; no third-party cookies), streams answers, and shows approval requests with buttons.
import { APIError, Client, citations, previewText, type AgentEvent, type Approval } from "../shared/api";
import { renderMarkdown } from "../shared/markdown";
import answerCSS from "../shared/markdown.css?inline";

const script = document.currentScript as HTMLScriptElement | null;
const base = script ? new URL(script.src).origin : location.origin;
const cfg = {
  tenant: script?.dataset.tenant || "",
  env: script?.dataset.env || "dev",
  title: script?.dataset.title || "k8s-manage",
};
const storeKey = `k8sm.widget.token@${base}`;
const api = new Client(base, sessionStorage.getItem(storeKey) || "");

// explain turns an error into what the person can do. A fetch that fails outright from a page on
// another origin is almost always CORS: the browser says only "Failed to fetch".
function explain(e: unknown): string {
  if (e instanceof TypeError && base !== location.origin) {
    return `The k8s-manage server at ${base} did not let this page (${location.origin}) call it. ` +
      `Ask its operator to add "${location.origin}" to web.allowed_origins (K8SM_WEB_ALLOWED_ORIGINS), or check that the server is up.`;
  }
  return e instanceof Error ? e.message : String(e);
}
let conversation = "";

const css = `

:host { all: initial; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "PingFang SC", sans-serif; color: #111827; }
.bubble { position: fixed; right: 20px; bottom: 20px; width: 52px; height: 52px; border-radius: 50%; border: 0; background: #2563eb; color: #fff;
  font-size: 22px; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); z-index: 2147483646; }
.panel { position: fixed; right: 20px; bottom: 84px; width: min(380px, calc(100vw - 40px)); height: min(560px, calc(100vh - 120px)); background: #fff;
  border: 1px solid #e5e7eb; border-radius: 12px; box-shadow: 0 10px 30px rgba(0,0,0,.2); display: flex; flex-direction: column; z-index: 2147483647; overflow: hidden; }
.panel[hidden] { display: none; }
.head { padding: 10px 12px; background: #111827; color: #fff; font-weight: 600; display: flex; justify-content: space-between; align-items: center; }
.head button { background: transparent; color: #fff; border: 0; cursor: pointer; font-size: 16px; }
.body { flex: 1; overflow-y: auto; padding: 10px; display: flex; flex-direction: column; gap: 8px; background: #f9fafb; }
.msg { padding: 8px 10px; border-radius: 8px; white-space: pre-wrap; word-break: break-word; max-width: 92%; }
.user { background: #dbeafe; align-self: flex-end; }
.bot { background: #fff; border: 1px solid #e5e7eb; }
.steps { font: 11px ui-monospace, monospace; color: #6b7280; }
.chip { font-size: 11px; background: #eef2ff; color: #3730a3; border-radius: 9px; padding: 0 6px; margin-right: 4px; }
.card { border: 1px solid #fcd34d; background: #fffbeb; border-radius: 8px; padding: 8px; }
.card pre { background: #111827; color: #e5e7eb; padding: 6px; border-radius: 6px; font-size: 11px; overflow-x: auto; margin: 6px 0; }
form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #e5e7eb; }
form.login { flex-direction: column; border: 0; padding: 16px; }
input { flex: 1; font: inherit; padding: 7px 8px; border: 1px solid #e5e7eb; border-radius: 6px; }
button.act { font: inherit; padding: 6px 10px; border: 1px solid #2563eb; background: #2563eb; color: #fff; border-radius: 6px; cursor: pointer; }
button.sec { font: inherit; padding: 6px 10px; border: 1px solid #e5e7eb; background: #fff; border-radius: 6px; cursor: pointer; }
.error { color: #b91c1c; }`;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, cls = "", text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

function mount() {
  const host = h("div");
  host.id = "k8s-manage-widget";
  const root = host.attachShadow({ mode: "open" });
  const style = h("style");
  style.textContent = css + answerCSS;
  const bubble = h("button", "bubble");
  // A speech-bubble icon (SVG: no emoji font needed).
  bubble.innerHTML = '<svg viewBox="0 0 24 24" width="26" height="26" fill="currentColor" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
  bubble.setAttribute("aria-label", cfg.title);
  const panel = h("div", "panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", cfg.title);
  const close = h("button", "", "×");
  close.setAttribute("aria-label", "close");
  const head = h("div", "head");
  head.append(h("span", "", cfg.title), close);
  const body = h("div", "body");
  panel.append(head, body);
  root.append(style, bubble, panel);
  document.body.append(host);
  bubble.addEventListener("click", () => { panel.hidden = !panel.hidden; if (!panel.hidden) show(panel, body); });
  close.addEventListener("click", () => { panel.hidden = true; });
}

function show(panel: HTMLElement, body: HTMLElement) {
  panel.querySelector("form")?.remove();
  if (!api.token) return loginForm(panel, body);
  chatForm(panel, body);
}

function loginForm(panel: HTMLElement, body: HTMLElement) {
  body.replaceChildren(h("div", "msg bot", "Log in with your k8s-manage account."));
  const form = h("form", "login");
  const email = h("input"); email.type = "email"; email.placeholder = "e-mail"; email.autocomplete = "username";
  const pw = h("input"); pw.type = "password"; pw.placeholder = "password"; pw.autocomplete = "current-password";
  const go = h("button", "act", "Log in");
  const err = h("div", "error");
  form.append(email, pw, go, err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api.req<{ token: string }>("POST", "/api/v1/login", { email: email.value, password: pw.value, mode: "token" });
      api.token = r.token;
      sessionStorage.setItem(storeKey, r.token);
      form.remove();
      body.replaceChildren();
      chatForm(panel, body);
    } catch (e) { err.textContent = explain(e); }
  });
  panel.append(form);
}

function chatForm(panel: HTMLElement, body: HTMLElement) {
  const form = h("form");
  const input = h("input"); input.placeholder = "Ask or request a change…"; input.name = "message";
  const send = h("button", "act", "Send");
  form.append(input, send);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    body.append(h("div", "msg user", text));
    send.disabled = true;
    await run(body, "/api/v1/chat", { message: text, conversation_id: conversation, tenant: cfg.tenant, env: cfg.env }, panel);
    send.disabled = false;
  });
  panel.append(form);
  input.focus();
}

async function run(body: HTMLElement, path: string, payload: unknown, panel: HTMLElement) {
  const bubble = h("div", "msg bot");
  const steps = h("div", "steps");
  const text = h("div", "answer");
  bubble.append(steps, text);
  body.append(bubble);
  let acc = "";
  const on = (e: AgentEvent) => {
    if (e.conversation) conversation = e.conversation;
    if (e.type === "text_delta") { acc += e.text || ""; text.replaceChildren(renderMarkdown(acc)); }
    else if (e.type === "tool_started") steps.append(h("div", "", `⚙ ${e.tool}`));
    else if (e.type === "approval_requested" && e.approval) body.append(card(e.approval, body, panel));
    else if (e.type === "approval_decided") steps.append(h("div", "", `☑ ${e.text}`));
    else if (e.type === "final") {
      acc = e.text || acc; text.replaceChildren(renderMarkdown(acc));
      const ids = citations(acc);
      if (ids.length) { const s = h("div"); for (const id of ids) s.append(h("span", "chip", id)); bubble.append(s); }
    } else if (e.type === "error") text.append(h("div", "error", e.error || "error"));
    body.scrollTop = body.scrollHeight;
  };
  try { await api.stream(path, payload, on); }
  catch (e) {
    if (e instanceof APIError && e.status === 401) { api.token = ""; sessionStorage.removeItem(storeKey); show(panel, body); return; }
    text.append(h("div", "error", explain(e)));
  }
}

function card(a: Approval, body: HTMLElement, panel: HTMLElement): HTMLElement {
  const c = h("div", "card");
  c.append(h("strong", "", `Approval needed · ${a.id}`), h("div", "", a.summary), h("pre", "", previewText(a.preview)));
  const yes = h("button", "act", "Approve");
  const no = h("button", "sec", "Reject");
  const row = h("div");
  row.append(yes, document.createTextNode(" "), no);
  c.append(row);
  const decide = async (approve: boolean) => {
    row.remove();
    await run(body, `/api/v1/approvals/${encodeURIComponent(a.id)}/decision`, { approve }, panel);
  };
  yes.addEventListener("click", () => decide(true));
  no.addEventListener("click", () => decide(false));
  return c;
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
else mount();
