// The k8s-manage console: log in, chat with streamed answers and visible tool steps, the approvals
// inbox with diffs, conversation history, a tenant/environment switcher, the audit log for
// admins, and a terminal into a container.
import "./style.css";
import { APIError, Client, citations, el, previewText, type AgentEvent, type Approval } from "../shared/api";
import { renderMarkdown } from "../shared/markdown";
import "../shared/markdown.css";
import { renderApps } from "./apps";
import { currentLang, setLang, t, type Lang } from "./i18n";
import { renderAlerts, renderBills, renderBuilds, renderCatalog, renderConfig, renderEnvironments, renderTenants } from "./pages";
import type { Ctx } from "./ui";

interface Membership { tenant: string; role: string; envs: string[] }
interface SessionInfo { user: string; csrf?: string; tenants: Membership[]; terminal: boolean }

const api = new Client();
const app = document.getElementById("app")!;
let session: SessionInfo | null = null;
let tenant = localStorage.getItem("k8sm.tenant") || "";
let env = localStorage.getItem("k8sm.env") || "dev";
let conversation = "";
let path = location.pathname.replace(/^\//, "") || "chat";
let view = path.split("/")[0];

function membership(): Membership | undefined { return session?.tenants.find((m) => m.tenant === tenant); }

async function boot() {
  try {
    session = await api.req<SessionInfo>("GET", "/api/v1/session");
    api.csrf = session.csrf || "";
    if (!session.tenants.some((m) => m.tenant === tenant)) tenant = session.tenants[0]?.tenant || "";
    const m = membership();
    if (m && !m.envs.includes(env)) env = m.envs[0] || "dev";
    if (view === "login") view = "chat";
    render();
  } catch (e) {
    if (e instanceof APIError && e.status === 401) return renderLogin();
    app.replaceChildren(el("p", { class: "error" }, String(e)));
  }
}

function renderLogin(message = "") {
  const email = el("input", { type: "email", name: "email", placeholder: "you@example.com", autocomplete: "username", required: "" });
  const password = el("input", { type: "password", name: "password", placeholder: "password", autocomplete: "current-password", required: "" });
  const err = el("div", { class: "error", role: "alert" }, message);
  const form = el("form", { class: "login", "aria-label": "log in" }, el("h1", {}, "k8s-manage"), email, password,
    el("button", { class: "primary", type: "submit" }, "Log in"), err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    try {
      await api.req("POST", "/api/v1/login", { email: email.value, password: password.value });
      history.replaceState(null, "", "/chat");
      view = "chat";
      await boot();
    } catch (e) { err.textContent = e instanceof Error ? e.message : String(e); }
  });
  app.replaceChildren(form);
  email.focus();
}

function go(v: string) { history.pushState(null, "", "/" + v); path = location.pathname.replace(/^\//, "") || "chat"; view = path.split("/")[0]; render(); }
window.addEventListener("popstate", () => { path = location.pathname.replace(/^\//, "") || "chat"; view = path.split("/")[0]; render(); });

let pendingBadge: HTMLElement | null = null;
async function refreshBadge() {
  if (!pendingBadge) return;
  try {
    const r = await api.req<{ approvals: Approval[] }>("GET", "/api/v1/approvals?status=pending");
    const n = r.approvals.length;
    pendingBadge.textContent = String(n);
    pendingBadge.hidden = n === 0;
  } catch { /* the badge is best effort */ }
}

function render() {
  if (!session) return renderLogin();
  const tenantSel = el("select", { "aria-label": "tenant", name: "tenant" });
  for (const m of session.tenants) tenantSel.append(el("option", { value: m.tenant }, `${m.tenant} (${m.role})`));
  tenantSel.value = tenant;
  tenantSel.addEventListener("change", () => { tenant = tenantSel.value; localStorage.setItem("k8sm.tenant", tenant); conversation = ""; render(); });
  const envSel = el("select", { "aria-label": "environment", name: "env" });
  for (const e of membership()?.envs || ["dev"]) envSel.append(el("option", { value: e }, e));
  envSel.value = env;
  envSel.addEventListener("change", () => { env = envSel.value; localStorage.setItem("k8sm.env", env); conversation = ""; render(); });
  const langSel = el("select", { "aria-label": t("Language"), name: "lang" }, el("option", { value: "en" }, "English"), el("option", { value: "zh" }, "中文"));
  langSel.value = currentLang();
  langSel.addEventListener("change", () => { setLang(langSel.value as Lang); render(); });
  const logout = el("button", { type: "button" }, t("Log out"));
  logout.addEventListener("click", async () => { await api.req("POST", "/api/v1/logout").catch(() => {}); session = null; api.csrf = ""; conversation = ""; transcript.length = 0; renderLogin(); });
  const header = el("header", {}, el("span", { class: "brand" }, "k8s-manage"), tenantSel, envSel, el("span", { class: "spacer" }),
    el("span", { class: "who" }, session.user), langSel, logout);

  pendingBadge = el("span", { class: "badge", hidden: "" });
  const tabs: [string, string, Node?][] = [["chat", "Chat"], ["apps", "Apps"], ["builds", "Builds"], ["catalog", "Service catalog"], ["config", "Config center"],
    ["bills", "Bills"], ["alerts", "Alerts"], ["environments", "Environments"], ["approvals", "Approvals", pendingBadge], ["history", "History"]];
  if (membership()?.role === "admin") tabs.push(["tenants", "Tenants"], ["audit", "Audit log"]);
  if (session.terminal) tabs.push(["terminal", "Terminal"]);
  const nav = el("nav", { "aria-label": "main" });
  for (const [id, label, extra] of tabs) {
    const a = el("a", { href: "/" + id, class: view === id ? "active" : "", "data-view": id }, t(label));
    if (view === id) a.setAttribute("aria-current", "page");
    if (extra) a.append(extra);
    a.addEventListener("click", (ev) => { ev.preventDefault(); go(id); });
    nav.append(a);
  }
  const main = el("main");
  app.replaceChildren(header, nav, main);
  refreshBadge();
  if (!tenant) { main.append(el("p", { class: "empty" }, "You are not a member of any tenant yet: ask a tenant admin to add you.")); return; }
  const ctx: Ctx = { api, tenant, env, role: membership()?.role || "viewer", user: session.user, go };
  const page = (f: () => Promise<void>) => f().catch((e) => main.append(el("p", { class: "error" }, e instanceof Error ? e.message : String(e))));
  switch (view) {
    case "apps": return page(() => renderApps(ctx, main, path.split("/").slice(1)));
    case "builds": return page(() => renderBuilds(ctx, main));
    case "catalog": return page(() => renderCatalog(ctx, main));
    case "config": return page(() => renderConfig(ctx, main));
    case "bills": return page(() => renderBills(ctx, main));
    case "alerts": return page(() => renderAlerts(ctx, main));
    case "tenants": return page(() => renderTenants(ctx, main));
    case "environments": return page(() => renderEnvironments(ctx, main, membership()?.envs || []));
    case "approvals": return renderApprovals(main);
    case "history": return renderHistory(main);
    case "audit": return renderAudit(main);
    case "terminal": return renderTerminal(main);
    default: return renderChat(main);
  }
}

// ---- chat ----
const transcript: HTMLElement[] = [];

function renderChat(main: HTMLElement) {
  const log = el("div", { class: "log", "aria-live": "polite" });
  log.append(...transcript);
  if (transcript.length === 0) log.append(el("p", { class: "empty" }, "Ask how to do something, why an app is failing, or for a change (it waits for an approval)."));
  const input = el("input", { name: "message", placeholder: "e.g. 扩容 nginx 到 3 个副本 / how do I set up a canary release?", autocomplete: "off" });
  const send = el("button", { class: "primary", type: "submit" }, t("Send"));
  const form = el("form", { class: "composer" }, input, send);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    log.querySelector(".empty")?.remove();
    push(log, el("div", { class: "msg user" }, text));
    send.disabled = true;
    try { await turn(log, "/api/v1/chat", { message: text, conversation_id: conversation, tenant, env }); }
    finally { send.disabled = false; input.focus(); }
  });
  main.append(log, form);
  input.focus();
}

function push(log: HTMLElement, node: HTMLElement) { transcript.push(node); log.append(node); node.scrollIntoView({ block: "end" }); }

/** turn streams one agent turn (a message, or a decision's resumption) into the log. */
async function turn(log: HTMLElement, path: string, body: unknown, throwOnFail = false) {
  const steps = el("div", { class: "steps" });
  const text = el("div", { class: "answer" });
  const bubble = el("div", { class: "msg bot" }, steps, text);
  push(log, bubble);
  let acc = "";
  const onEvent = (e: AgentEvent) => {
    // A chat turn continues its conversation; a decision's resumption streams the requester's,
    // which is not this person's to continue.
    if (e.conversation && path.endsWith("/chat")) conversation = e.conversation;
    switch (e.type) {
      case "text_delta": acc += e.text || ""; text.replaceChildren(renderMarkdown(acc)); break;
      case "tool_started": steps.append(el("div", { "data-tool": e.tool || "" }, `⚙ ${e.tool}`)); break;
      case "tool_finished": {
        const s = steps.querySelector(`[data-tool="${e.tool}"]:not(.done)`);
        if (s) { s.textContent = `✓ ${e.tool}`; s.classList.add("done"); }
        if (e.tool === "query_metrics" && e.result) { const chart = sparkline(e.result); if (chart) bubble.append(chart); }
        break;
      }
      case "approval_requested":
        if (e.approval) push(log, approvalCard(e.approval, log));
        if (!acc) text.textContent = "Waiting for an approval (see the request below).";
        break;
      case "approval_decided": steps.append(el("div", {}, `☑ ${e.text}`)); break;
      case "final": acc = e.text || acc; text.replaceChildren(renderMarkdown(acc)); addSources(bubble, acc); break;
      case "error": text.append(el("div", { class: "error" }, e.error || "error")); break;
    }
  };
  try { await api.stream(path, body, onEvent); }
  catch (e) {
    if (throwOnFail) { bubble.remove(); transcript.splice(transcript.indexOf(bubble), 1); throw e; }
    text.append(el("div", { class: "error" }, e instanceof Error ? e.message : String(e)));
  }
  refreshBadge();
}

interface Series { title: string; app: string; range: string; unit: string; summary: string; points: { t: string; v: number }[] }

/** sparkline draws a query_metrics series beside the answer: a line over the range, its
 * summary as the accessible label and caption (nothing for a series of fewer than two points). */
function sparkline(result: string): HTMLElement | null {
  let s: Series;
  try { s = JSON.parse(result) as Series; } catch { return null; }
  const ps = Array.isArray(s.points) ? s.points.filter((p) => Number.isFinite(p.v)) : [];
  if (ps.length < 2) return null;
  const w = 240, h = 48, pad = 3;
  const t0 = Date.parse(ps[0].t), t1 = Date.parse(ps[ps.length - 1].t);
  const lo = Math.min(...ps.map((p) => p.v)), hi = Math.max(...ps.map((p) => p.v));
  const x = (t: string) => pad + ((Date.parse(t) - t0) / Math.max(1, t1 - t0)) * (w - 2 * pad);
  const y = (v: number) => h - pad - (hi === lo ? 0.5 : (v - lo) / (hi - lo)) * (h - 2 * pad);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", s.summary);
  svg.classList.add("spark");
  const line = document.createElementNS(svg.namespaceURI, "polyline");
  line.setAttribute("points", ps.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" "));
  svg.append(line);
  return el("figure", { class: "sparkline", "data-query": `${s.app} ${s.title}` }, svg, el("figcaption", {}, `${s.title} · ${s.app} · ${s.range}`));
}

function addSources(bubble: HTMLElement, text: string) {
  const ids = citations(text);
  if (ids.length === 0) return;
  bubble.append(el("div", { class: "sources", "aria-label": "sources" }, ...ids.map((id) => el("span", { class: "chip", "data-chunk": id }, id))));
}

function approvalCard(a: Approval, log?: HTMLElement): HTMLElement {
  const card = el("div", { class: "card", "data-approval": a.id },
    el("strong", {}, `Approval needed · ${a.id}`), el("div", {}, a.summary),
    el("div", { class: "meta" }, `requested by ${a.requester} · ${a.tenant}/${a.env} · ${a.tool} · risk ${a.risk}`),
    el("pre", { class: "diff" }, previewText(a.preview)));
  if (a.status && a.status !== "pending") {
    card.classList.add("decided");
    card.append(el("div", { class: "meta" }, `${a.status}${a.decided_by ? " by " + a.decided_by : ""}${a.reason ? ": " + a.reason : ""}`));
    return card;
  }
  const reason = el("input", { placeholder: "reason (optional)", name: "reason" });
  const yes = el("button", { class: "primary", type: "button" }, t("Approve"));
  const no = el("button", { class: "danger", type: "button" }, t("Reject"));
  const msg = el("div", { class: "result" });
  const decide = async (approve: boolean) => {
    yes.disabled = no.disabled = true;
    msg.textContent = "";
    const out = el("div", { class: "log" });
    try {
      const target = log || card.parentElement!;
      card.after(out);
      await decideInto(out, a.id, approve, reason.value, target);
      card.classList.add("decided");
      card.querySelector(".actions")?.remove();
    } catch (e) {
      out.remove();
      msg.className = "error";
      msg.textContent = e instanceof Error ? e.message : String(e);
      yes.disabled = no.disabled = false;
    }
  };
  yes.addEventListener("click", () => decide(true));
  no.addEventListener("click", () => decide(false));
  card.append(el("div", { class: "actions" }, yes, no, reason), msg);
  return card;
}

/** decideInto posts a decision and streams the resumed turn into out. */
async function decideInto(out: HTMLElement, id: string, approve: boolean, reason: string, _log: HTMLElement) {
  await turn(out, `/api/v1/approvals/${encodeURIComponent(id)}/decision`, { approve, reason }, true);
}

// ---- approvals inbox ----
async function renderApprovals(main: HTMLElement) {
  const status = el("select", { "aria-label": "status", name: "status" });
  for (const s of ["pending", "approved", "rejected", "expired"]) status.append(el("option", { value: s }, s));
  const list = el("div", { class: "log" });
  const load = async () => {
    list.replaceChildren(el("p", { class: "empty" }, "Loading…"));
    try {
      const r = await api.req<{ approvals: Approval[] }>("GET", `/api/v1/approvals?status=${status.value}`);
      list.replaceChildren(...(r.approvals.length ? r.approvals.map((a) => approvalCard(a)) : [el("p", { class: "empty" }, `No ${status.value} requests.`)]));
    } catch (e) { list.replaceChildren(el("p", { class: "error" }, String(e))); }
  };
  status.addEventListener("change", load);
  main.append(el("div", { class: "row" }, el("strong", {}, "Approvals"), status), list);
  await load();
}

// ---- history ----
async function renderHistory(main: HTMLElement) {
  const list = el("div", { class: "log" });
  main.append(list);
  try {
    const r = await api.req<{ conversations: { id: string; surface: string; tenant: string; updated_at?: string; title?: string }[] }>("GET", "/api/v1/conversations");
    if (!r.conversations.length) { list.append(el("p", { class: "empty" }, "No conversations yet.")); return; }
    const table = el("table", {}, el("tr", {}, el("th", {}, "conversation"), el("th", {}, "surface"), el("th", {}, "tenant")));
    for (const c of r.conversations) {
      const a = el("a", { href: "#" }, c.title || c.id);
      a.addEventListener("click", async (ev) => {
        ev.preventDefault();
        try {
          const h = await api.req<{ messages: { role: string; content: string }[] }>("GET", `/api/v1/conversations/${encodeURIComponent(c.id)}`);
          list.replaceChildren(...h.messages.map((m) => el("div", { class: `msg ${m.role === "user" ? "user" : "bot"}` }, m.content)));
        } catch (e) { list.append(el("p", { class: "error" }, String(e))); }
      });
      table.append(el("tr", {}, el("td", {}, a), el("td", {}, c.surface), el("td", {}, c.tenant)));
    }
    list.append(table);
  } catch (e) { list.append(el("p", { class: "error" }, String(e))); }
}

// ---- audit ----
async function renderAudit(main: HTMLElement) {
  const box = el("div");
  main.append(el("div", { class: "row" }, el("strong", {}, `Audit log of ${tenant}`)), box);
  try {
    const r = await api.req<{ entries: { at: string; user: string; env: string; tool: string; risk: string; outcome: string; approval_id?: string }[] }>("GET", `/api/v1/audit?tenant=${encodeURIComponent(tenant)}`);
    const table = el("table", {}, el("tr", {}, ...["time", "user", "env", "tool", "risk", "outcome", "approval"].map((h) => el("th", {}, h))));
    for (const e of r.entries) table.append(el("tr", {}, ...[new Date(e.at).toLocaleString(), e.user, e.env, e.tool, e.risk, e.outcome, e.approval_id || ""].map((v) => el("td", {}, v))));
    box.append(r.entries.length ? table : el("p", { class: "empty" }, "Nothing audited yet."));
  } catch (e) { box.append(el("p", { class: "error" }, String(e))); }
}

// ---- terminal ----
async function renderTerminal(main: HTMLElement) {
  const pod = el("input", { name: "pod", placeholder: "pod name", "aria-label": "pod", value: new URLSearchParams(location.search).get("pod") || "" });
  const container = el("input", { name: "container", placeholder: "container (optional)", "aria-label": "container" });
  const open = el("button", { class: "primary", type: "button" }, "Open terminal");
  const status = el("span", { class: "meta" });
  const screen = el("div", { class: "term" });
  main.append(el("div", { class: "row" }, pod, container, open, status), screen);
  open.addEventListener("click", async () => {
    if (!pod.value.trim()) { // the server refuses a terminal without a pod: say so before connecting
      status.textContent = "Choose a pod first: type its name, or open the terminal from an app's Pods tab.";
      pod.focus();
      return;
    }
    const [{ Terminal }, { FitAddon }] = await Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit")]);
    await import("@xterm/xterm/css/xterm.css");
    screen.replaceChildren();
    const term = new Terminal({ cursorBlink: true, convertEol: true, fontSize: 13 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(screen);
    fit.fit();
    const q = new URLSearchParams({ tenant, env, pod: pod.value.trim(), container: container.value.trim(), csrf: api.csrf });
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/terminal?${q}`);
    ws.binaryType = "arraybuffer";
    status.textContent = "connecting…";
    ws.onerror = () => { status.textContent = `could not open a terminal in ${pod.value}: check that the pod exists in ${env} and is running, and that you are an operator of ${tenant}`; };
    ws.onopen = () => { status.textContent = `connected to ${pod.value}`; ws.send(JSON.stringify({ type: "resize", cols: term.cols, rows: term.rows })); term.focus(); };
    ws.onmessage = (m) => {
      if (typeof m.data === "string") {
        const msg = JSON.parse(m.data);
        if (msg.type === "exit") status.textContent = msg.error ? `ended: ${msg.error}` : "session ended";
        return;
      }
      term.write(new Uint8Array(m.data as ArrayBuffer));
    };
    ws.onclose = () => { if (!status.textContent?.startsWith("ended") && !status.textContent?.startsWith("could not")) status.textContent = status.textContent === "session ended" ? "session ended" : "disconnected"; };
    term.onData((d) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: "input", data: d })));
    term.onResize(({ cols, rows }) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: "resize", cols, rows })));
  });
}

boot();
