// 构建 Builds, 服务目录 Service catalog, 配置中心 Config center, 账单 Bills, 告警 Alerts and
// 租户 Tenants (admins): each over /api/v1, each change through the preview and approval.
import { el } from "../shared/api";
import { renderMarkdown } from "../shared/markdown";
import { t } from "./i18n";
import { atLeast, badge, button, change, errorText, field, outcome, scope, showFieldError, table, when, type Ctx } from "./ui";

// ---- builds ----
interface Build { id: string; app: string; ref: string; commit: string; author: string; message?: string; image: string; status: string; created: string; log?: string }

export async function renderBuilds(ctx: Ctx, main: HTMLElement) {
  const result = el("div");
  const logBox = el("pre", { class: "logs", hidden: "" });
  const app = field(t("App"), "app", { required: "" });
  const ref = field(t("Ref"), "ref", { placeholder: "main" });
  const err = el("div", { class: "error", role: "alert" });
  const form = el("form", { class: "row", "aria-label": t("Trigger a build"), "data-form": "new-build" }, app.row, ref.row, el("button", { class: "primary", type: "submit" }, t("New")), err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body: Record<string, string> = { app: app.input.value.trim() };
    if (ref.input.value.trim()) body.ref = ref.input.value.trim();
    try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/builds?${scope(ctx)}`, body))); } catch (e) { showFieldError([app, ref], e, err); }
  });
  main.append(el("h1", {}, t("Builds")), el("h2", {}, t("Trigger a build")), form, result);
  const src = await ctx.api.req<{ items: { app: string; repo_url: string; branches: string[] | null; builder: string }[] }>("GET", `/api/v1/builds/sources?${scope(ctx)}`);
  main.append(el("h2", {}, t("Sources")), src.items.length
    ? table([t("App"), "repository", "branches", "builder"], src.items.map((x) => [x.app, x.repo_url, (x.branches || []).join(", "), x.builder]), { class: "sources" })
    : el("p", { class: "meta" }, "k8s-manage build register …"), el("h2", {}, t("Builds")));
  const r = await ctx.api.req<{ items: Build[] | null }>("GET", `/api/v1/builds?${scope(ctx)}`);
  if (!r.items?.length) { main.append(el("p", { class: "empty" }, t("No builds yet."))); return; }
  main.append(table([t("App"), t("Status"), t("Commit"), t("Author"), t("Ref"), t("Image"), t("created"), ""], r.items.map((b) => {
    const open = button(t("Build log"), async () => {
      try { const full = await ctx.api.req<Build>("GET", `/api/v1/builds/${encodeURIComponent(b.id)}?${scope(ctx)}`); logBox.hidden = false; logBox.textContent = full.log || ""; }
      catch (e) { logBox.hidden = false; logBox.textContent = errorText(e); }
    });
    const deploy = button(t("Deploy"), async () => {
      try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/builds/${encodeURIComponent(b.id)}/deploy?${scope(ctx)}`))); } catch (e) { err.textContent = errorText(e); }
    }, "", { "data-deploy": b.id });
    deploy.disabled = b.status !== "succeeded";
    return [b.app, badge(b.status, b.status), b.commit.slice(0, 10), b.author, b.ref, b.image, when(b.created), el("span", {}, open, deploy)];
  })), logBox);
}

// ---- service catalog ----
interface Plan { name: string; cpu: string; memory: string; storage: string }
interface Instance { name: string; type: string; plan: string; ready: boolean; host: string; port: number; user: string; credentials_secret: string; storage: string }

export async function renderCatalog(ctx: Ctx, main: HTMLElement) {
  const [{ types, plans }, inst] = await Promise.all([
    ctx.api.req<{ types: string[]; plans: Plan[] }>("GET", "/api/v1/catalog/plans"),
    ctx.api.req<{ data: Instance[] | null }>("GET", `/api/v1/catalog/instances?${scope(ctx)}`),
  ]);
  const result = el("div");
  const cards = el("div", { class: "cards" });
  for (const type of types) {
    const name = field(t("Instance name"), "name", { required: "", value: `my-${type}` });
    const plan = field(t("Plan"), "plan", {}, plans.map((p) => p.name));
    const err = el("div", { class: "error", role: "alert" });
    const form = el("form", { class: "plan-card", "data-type": type, "aria-label": `${t("Provision")} ${type}` }, el("h3", {}, type),
      el("ul", { class: "meta" }, ...plans.map((p) => el("li", {}, `${p.name}: ${p.cpu} CPU · ${p.memory} · ${p.storage}`))), name.row, plan.row,
      el("button", { class: "primary", type: "submit" }, t("Provision")), err);
    if (!atLeast(ctx, "operator")) {
      form.append(el("p", { class: "meta" }, "operator+"));
      (form.querySelector("button[type=submit]") as HTMLButtonElement).disabled = true;
    }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/catalog/instances?${scope(ctx)}`, { type, name: name.input.value.trim(), plan: plan.input.value }))); }
      catch (e) { showFieldError([name, plan], e, err); }
    });
    cards.append(form);
  }
  main.append(el("h1", {}, t("Service catalog")), cards, result, el("h2", {}, t("Instances")),
    table([t("Name"), "type", t("Plan"), t("Status"), t("Connection"), t("Credentials")], (inst.data || []).map((i) => [i.name, i.type, i.plan,
      badge(i.ready ? "ready" : "starting", i.ready ? "healthy" : "degraded"), `${i.host}:${i.port} (${i.user})`,
      atLeast(ctx, "operator") ? reveal(ctx, i.name) : t("masked")]), { class: "instances" }));
}

/** reveal is the operators' button that shows an instance's credentials (audited server-side). */
function reveal(ctx: Ctx, name: string): HTMLElement {
  const out = el("span", { class: "mono" });
  const b = button(t("Reveal"), async () => {
    try {
      const c = await ctx.api.req<{ username: string; password: string; host: string; port: number }>("GET", `/api/v1/catalog/instances/${encodeURIComponent(name)}/credentials?${scope(ctx)}`);
      out.textContent = `${c.username} / ${c.password}`;
      b.remove();
    } catch (e) { out.textContent = errorText(e); }
  }, "", { "data-reveal": name });
  return el("span", {}, b, out);
}

// ---- config center ----
interface Item { key: string; value: string; secret: boolean; version?: number; author?: string; updated_at?: string }

export async function renderConfig(ctx: Ctx, main: HTMLElement) {
  const app = field(t("App"), "app", { value: new URLSearchParams(location.search).get("app") || "", required: "" });
  const box = el("div");
  const err = el("div", { class: "error", role: "alert" });
  const load = async () => {
    box.replaceChildren();
    if (!app.input.value.trim()) return;
    try {
      const r = await ctx.api.req<{ items: Item[] | null; revealed: boolean }>("GET", `/api/v1/config?${scope(ctx, { app: app.input.value.trim() })}`);
      box.append(el("h2", {}, t("Keys")), table([t("key"), t("value"), t("Versions"), t("Author"), ""], (r.items || []).map((i) => [i.key,
        i.secret ? el("span", { class: "masked" }, `•••• (${t("masked")})`) : i.value, String(i.version ?? ""), `${i.author || ""} ${when(i.updated_at)}`, ""]), { class: "config" }));
      const since = field(t("Diff since"), "from", { type: "datetime-local", value: new Date(Date.now() - 7 * 864e5).toISOString().slice(0, 16) });
      const diff = el("pre", { class: "diff" });
      box.append(el("form", { class: "row", "aria-label": t("Show diff") }, since.row, button(t("Show diff"), async () => {
        try {
          const d = await ctx.api.req<{ changes: any[] | null }>("GET", `/api/v1/config/diff?${scope(ctx, { app: app.input.value.trim(), from: new Date(since.input.value).toISOString() })}`);
          diff.textContent = (d.changes || []).map((c) => `${c.change} ${c.key}: v${c.from_version} ${c.from ?? ""} -> v${c.to_version} ${c.to ?? ""}`).join("\n") || "—";
        } catch (e) { diff.textContent = errorText(e); }
      })), el("h2", {}, "History"), diff);
      const key = field(t("key"), "key", { required: "" });
      const value = field(t("value"), "value", { required: "" });
      const secret = el("input", { type: "checkbox", id: "cfg-secret", name: "secret" });
      const result = el("div");
      const serr = el("div", { class: "error", role: "alert" });
      const set = el("form", { class: "row", "aria-label": t("Set a value") }, key.row, value.row, el("label", { for: "cfg-secret" }, secret, t("Secret")),
        el("button", { class: "primary", type: "submit" }, t("Preview the change")), serr);
      set.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try { result.replaceChildren(outcome(await change(ctx, "PUT", `/api/v1/config/${encodeURIComponent(key.input.value.trim())}?${scope(ctx)}`, { app: app.input.value.trim(), value: value.input.value, secret: secret.checked }))); }
        catch (e) { showFieldError([key, value], e, serr); }
      });
      box.append(el("h2", {}, t("Set a value")), set, result);
    } catch (e) { err.textContent = errorText(e); }
  };
  const form = el("form", { class: "row", "aria-label": t("Config center") }, app.row, el("button", { type: "submit", class: "primary" }, "OK"), err);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  main.append(el("h1", {}, t("Config center")), form, box);
  await load();
}

// ---- bills ----
interface Bill { tenant: string; currency: string; total: number; lines: { env?: string; app: string; resource: string; usage: number; unit: string; cost: number }[] | null }

function money(v: number): string { return v >= 0.01 || v === 0 ? v.toFixed(2) : v.toPrecision(2); }

function bars(title: string, sums: Map<string, number>, currency: string): HTMLElement {
  const entries = [...sums.entries()].sort((a, b) => b[1] - a[1]);
  const max = Math.max(1e-9, ...entries.map((e) => e[1]));
  const h = 22, w = 520, label = 140;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${Math.max(1, entries.length) * h + 4}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${title}: ${entries.map(([k, v]) => `${k} ${money(v)} ${currency}`).join(", ")}`);
  svg.classList.add("chart");
  entries.forEach(([k, v], i) => {
    const y = i * h + 2;
    const text = document.createElementNS(svg.namespaceURI, "text");
    text.setAttribute("x", "0"); text.setAttribute("y", String(y + 15)); text.textContent = k;
    const rect = document.createElementNS(svg.namespaceURI, "rect");
    rect.setAttribute("x", String(label)); rect.setAttribute("y", String(y + 3)); rect.setAttribute("height", String(h - 8));
    rect.setAttribute("width", String(Math.max(1, ((w - label - 90) * v) / max))); rect.setAttribute("data-key", k);
    const val = document.createElementNS(svg.namespaceURI, "text");
    val.setAttribute("x", String(label + ((w - label - 90) * v) / max + 6)); val.setAttribute("y", String(y + 15)); val.textContent = `${money(v)} ${currency}`;
    svg.append(text, rect, val);
  });
  return el("figure", { class: "bars" }, el("figcaption", {}, title), svg);
}

export async function renderBills(ctx: Ctx, main: HTMLElement) {
  const period = field(t("Period"), "period", { type: "month", value: new Date().toISOString().slice(0, 7) });
  const box = el("div");
  const load = async () => {
    try {
      const b = await ctx.api.req<Bill>("GET", `/api/v1/bills?${new URLSearchParams({ tenant: ctx.tenant, period: period.input.value })}`);
      const byRes = new Map<string, number>(), byApp = new Map<string, number>();
      for (const l of b.lines || []) { byRes.set(l.resource, (byRes.get(l.resource) || 0) + l.cost); byApp.set(l.app || "—", (byApp.get(l.app || "—") || 0) + l.cost); }
      const csv = el("a", { href: `/api/v1/bills?${new URLSearchParams({ tenant: ctx.tenant, period: period.input.value, format: "csv" })}`, download: "", "data-csv": "" }, t("Download CSV"));
      box.replaceChildren(el("p", {}, el("strong", {}, `${t("Total")}: ${b.total.toFixed(2)} ${b.currency}`), " · ", csv),
        ...(b.lines?.length ? [el("div", { class: "charts" }, bars(t("Per resource"), byRes, b.currency), bars(t("Per app"), byApp, b.currency)),
          table([t("App"), "env", "resource", "usage", "cost"], b.lines.map((l) => [l.app, l.env || "", l.resource, `${l.usage.toFixed(2)} ${l.unit}`, l.cost.toFixed(2)]))]
          : [el("p", { class: "empty" }, t("No charges in this period."))]));
    } catch (e) { box.replaceChildren(el("p", { class: "error" }, errorText(e))); }
  };
  period.input.addEventListener("change", load);
  main.append(el("h1", {}, `${t("Bills")} · ${ctx.tenant}`), el("div", { class: "row" }, period.row), box);
  await load();
}

// ---- alerts ----
interface Alert { id: string; alertname: string; status: string; state: string; severity?: string; env?: string; app?: string; summary?: string; received_at: string;
  finding?: string; diagnosis?: string; error?: string; fixes?: { tool: string; args: string }[]; threads?: { surface: string; channel: string; thread: string }[] }

export async function renderAlerts(ctx: Ctx, main: HTMLElement) {
  main.append(el("h1", {}, t("Alerts")));
  const r = await ctx.api.req<{ items: Alert[] | null }>("GET", `/api/v1/alerts?${new URLSearchParams({ tenant: ctx.tenant })}`);
  if (!r.items?.length) { main.append(el("p", { class: "empty" }, t("No alerts."))); return; }
  for (const a of r.items) {
    const body = el("div", { class: "alert-body", hidden: "" });
    const head = el("button", { type: "button", class: "alert-head", "aria-expanded": "false", "data-alert": a.id },
      badge(a.status, a.status === "firing" ? "down" : "healthy"), ` ${a.alertname} · ${a.app || ""} ${a.env ? `(${a.env})` : ""} · ${when(a.received_at)} · ${a.state === "unrouted" ? "no chat channel" : a.state}`);
    head.addEventListener("click", () => { body.hidden = !body.hidden; head.setAttribute("aria-expanded", String(!body.hidden)); });
    const result = el("div");
    body.append(el("p", {}, a.summary || ""), ...(a.finding ? [el("p", {}, el("strong", {}, `${t("Diagnosis")}: `), a.finding)] : []),
      el("div", { class: "answer" }, renderMarkdown(a.diagnosis || a.error || "")),
      ...(a.threads || []).map((th) => el("p", { class: "meta" }, `${t("Thread")}: `, th.surface === "slack"
        ? el("a", { href: `https://slack.com/app_redirect?channel=${encodeURIComponent(th.channel)}`, target: "_blank", rel: "noopener" }, `Slack ${th.channel}`)
        : `${th.surface} ${th.channel}`, ` · ${th.thread}`)),
      ...(a.fixes || []).map((f, i) => el("div", { class: "row" }, el("code", {}, `${f.tool} ${f.args}`), button(t("Propose fix"), async () => {
        try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/alerts/${encodeURIComponent(a.id)}/fixes/${i}?${new URLSearchParams({ tenant: ctx.tenant })}`))); }
        catch (e) { result.replaceChildren(el("p", { class: "error" }, errorText(e))); }
      }, "primary", { "data-fix": String(i) }))), result);
    main.append(el("article", { class: "alert" }, head, body));
  }
}

// ---- tenants (admins) ----
export async function renderTenants(ctx: Ctx, main: HTMLElement) {
  main.append(el("h1", {}, `${t("Tenants")} · ${ctx.tenant}`));
  const [members, quota] = await Promise.all([
    ctx.api.req<{ items: { email: string; role: string }[] }>("GET", `/api/v1/tenants/${encodeURIComponent(ctx.tenant)}/members`),
    ctx.api.req<{ data: any }>("GET", `/api/v1/tenants/${encodeURIComponent(ctx.tenant)}/quota?${new URLSearchParams({ env: ctx.env })}`),
  ]);
  const email = field(t("E-mail"), "email", { type: "email", required: "" });
  const role = field(t("Role"), "role", {}, ["viewer", "developer", "operator", "admin"]);
  const err = el("div", { class: "error", role: "alert" });
  const result = el("div");
  const form = el("form", { class: "row", "aria-label": `${t("Members")} ${t("Add")}`, "data-form": "add-member" }, email.row, role.row, el("button", { class: "primary", type: "submit" }, t("Add")), err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/tenants/${encodeURIComponent(ctx.tenant)}/members`, { email: email.input.value.trim(), role: role.input.value }))); }
    catch (e) { showFieldError([email, role], e, err); }
  });
  const lines: { resource: string; used: string; hard: string; percent: number }[] = quota.data?.lines || [];
  const usage: [string, string, string, number][] = lines.map((l) => [l.resource, l.used, l.hard, Math.round(l.percent)]);
  main.append(el("h2", {}, t("Members")), table([t("E-mail"), t("Role")], members.items.map((m) => [m.email, m.role]), { class: "members" }), form, result,
    el("h2", {}, `${t("Quota")} · ${ctx.env}`), table(["resource", t("used"), ""], usage.map(([k, used, hard, p]) => [k, `${used} / ${hard}`,
      el("meter", { min: "0", max: "100", value: String(p), high: "85", "aria-label": `${k} ${p}%` })]), { class: "quota" }));
}


// ---- environments ----
export async function renderEnvironments(ctx: Ctx, main: HTMLElement, envs: string[]) {
  const from = field(t("From environment"), "from_env", {}, envs);
  const to = field(t("To environment"), "to_env", { required: "", placeholder: "test" });
  const overwrite = el("input", { type: "checkbox", id: "clone-overwrite", name: "overwrite" });
  const err = el("div", { class: "error", role: "alert" });
  const result = el("div");
  const submit = el("button", { class: "primary", type: "submit" }, t("Clone"));
  if (!atLeast(ctx, "admin")) submit.disabled = true;
  const form = el("form", { class: "row", "aria-label": t("Clone"), "data-form": "clone" }, from.row, to.row,
    el("label", { for: "clone-overwrite" }, overwrite, "overwrite"), submit, err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/environments/clone?${scope(ctx, { env: from.input.value })}`, { from_env: from.input.value, to_env: to.input.value.trim(), overwrite: overwrite.checked }))); }
    catch (e) { showFieldError([from, to], e, err); }
  });
  main.append(el("h1", {}, t("Environments")), table([t("Name")], envs.map((e) => [e])), el("h2", {}, t("Clone")), form, result);
}
