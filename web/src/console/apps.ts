// 应用 Apps: the list, the "New app" form, and an app's detail tabs (overview, pods, logs,
// revisions, settings, autoscaling, release strategy, monitoring). Every change opens the
// dry-run preview, then goes to approval.
import { el, type AgentEvent } from "../shared/api";
import { renderMarkdown } from "../shared/markdown";
import { t } from "./i18n";
import { atLeast, badge, button, change, errorText, field, outcome, scope, showFieldError, table, when, type Ctx, type Field } from "./ui";

interface Summary { name: string; strategy: string; image: string; desired: number; ready: number; health: string; rollout?: string; last_deploy?: string; canary?: boolean }
interface Probe { path?: string; port: number }
interface Config {
  name: string; strategy: string; image: string; replicas: number; command?: string[]; args?: string[]; env?: Record<string, string>;
  ports?: { name?: string; port: number }[]; resources?: Record<string, string>; readiness?: Probe; liveness?: Probe; env_from?: string[]; version: string;
  ingress?: { host: string; path?: string; tls_secret?: string; class?: string };
}

export async function renderApps(ctx: Ctx, main: HTMLElement, rest: string[]) {
  if (rest[0] === "new") return renderNewApp(ctx, main);
  if (rest[0]) return renderApp(ctx, main, decodeURIComponent(rest[0]), rest[1] || "overview");
  const search = el("input", { type: "search", name: "q", "aria-label": t("Search apps"), placeholder: t("Search apps") });
  const add = button(t("New"), () => ctx.go("apps/new"), "primary", { "data-action": "new-app" });
  if (!atLeast(ctx, "developer")) add.hidden = true;
  const box = el("div");
  const more = button(t("Load more"), () => load(false));
  more.hidden = true;
  main.append(el("div", { class: "row" }, el("h1", {}, t("Apps")), search, add), box, more);
  let cursor = "";
  let body: HTMLElement | null = null;
  const load = async (fresh: boolean) => {
    if (fresh) { cursor = ""; box.replaceChildren(el("p", { class: "empty" }, t("Loading…"))); body = null; }
    try {
      const r = await ctx.api.req<{ items: Summary[]; next_cursor: string }>("GET", `/api/v1/apps?${scope(ctx, { q: search.value.trim(), limit: "200", cursor })}`);
      if (!body) {
        if (!r.items.length) { box.replaceChildren(el("p", { class: "empty" }, t("No apps yet."))); return; }
        const tb = table([t("Name"), t("Health"), t("Ready"), t("Image"), t("Last deploy"), t("Strategy")], [], { class: "apps" });
        body = tb.tBodies[0];
        box.replaceChildren(tb);
      }
      for (const s of r.items) {
        const a = el("a", { href: `/apps/${encodeURIComponent(s.name)}`, "data-app": s.name }, s.name);
        a.addEventListener("click", (ev) => { ev.preventDefault(); ctx.go(`apps/${encodeURIComponent(s.name)}`); });
        body.append(el("tr", {}, el("td", {}, a), el("td", {}, badge(s.health, s.health)), el("td", {}, `${s.ready}/${s.desired}`),
          el("td", { class: "mono" }, s.image), el("td", {}, when(s.last_deploy)), el("td", {}, s.rollout ? `${s.strategy} · ${s.rollout}` : s.strategy)));
      }
      cursor = r.next_cursor;
      more.hidden = !cursor;
    } catch (e) { box.replaceChildren(el("p", { class: "error" }, errorText(e))); }
  };
  let timer = 0;
  search.addEventListener("input", () => { clearTimeout(timer); timer = window.setTimeout(() => load(true), 250); });
  await load(true);
}

// ---- the spec form (new app, settings) ----

interface SpecForm { node: HTMLElement; fields: Field[]; value(): Record<string, unknown>; check(): boolean }

function rows(label: string, name: string, initial: [string, string][], cols: [string, string]): { node: HTMLElement; value(): [string, string][]; field: Field } {
  const list = el("div", { class: "pairs" });
  const msg = el("span", { class: "field-error", role: "alert", id: `${name}-err` });
  const add = (k = "", v = "") => {
    const key = el("input", { name: `${name}-key`, "aria-label": `${label} ${cols[0]}`, value: k, placeholder: cols[0] });
    const val = el("input", { name: `${name}-value`, "aria-label": `${label} ${cols[1]}`, value: v, placeholder: cols[1] });
    const row = el("div", { class: "pair" }, key, val);
    row.append(button("×", () => row.remove(), "", { "aria-label": `${t("remove")} ${k}` }));
    list.append(row);
  };
  for (const [k, v] of initial) add(k, v);
  const node = el("fieldset", { class: "field", "data-field": name, "aria-describedby": msg.id }, el("legend", {}, label), list,
    button(name === "env" ? t("Add variable") : t("Add port"), () => add(), "", { "data-add": name }), msg);
  const value = () => [...list.querySelectorAll(".pair")].map((r) => {
    const [k, v] = r.querySelectorAll("input");
    return [k.value.trim(), v.value.trim()] as [string, string];
  }).filter(([k, v]) => k || v);
  return { node, value, field: { row: node, input: list.querySelector("input") || el("input"), msg, name } };
}

function specForm(initial: Partial<Config>, create: boolean): SpecForm {
  const name = field(t("Name"), "name", { required: "", autocomplete: "off", value: initial.name || "", pattern: "[a-z]([-a-z0-9]*[a-z0-9])?" });
  if (!create) name.input.setAttribute("readonly", "");
  const image = field(t("Image"), "image", { required: "", value: initial.image || "", placeholder: "registry.example.com/team/web:1.0" });
  const replicas = field(t("Replicas"), "replicas", { type: "number", min: "0", max: "500", value: String(initial.replicas ?? 1) });
  const command = field(t("Command"), "command", { value: (initial.command || []).join(" "), placeholder: "nginx" });
  const args = field(t("Arguments"), "args", { value: (initial.args || []).join(" "), placeholder: "-g 'daemon off;'" });
  const res = initial.resources || {};
  const cpu = field(t("CPU request"), "resources.cpu_request", { value: res.cpu_request || "", placeholder: "250m" });
  const mem = field(t("Memory request"), "resources.memory_request", { value: res.memory_request || "", placeholder: "256Mi" });
  const cpuL = field(t("CPU limit"), "resources.cpu_limit", { value: res.cpu_limit || "" });
  const memL = field(t("Memory limit"), "resources.memory_limit", { value: res.memory_limit || "" });
  const probePath = field(t("Readiness probe path"), "readiness", { value: initial.readiness?.path || "", placeholder: "/healthz" });
  const probePort = field(t("Probe port"), "readiness.port", { type: "number", value: initial.readiness ? String(initial.readiness.port) : "" });
  const env = rows(t("Environment variables"), "env", Object.entries(initial.env || {}), [t("key"), t("value")]);
  const ports = rows(t("Ports"), "ports", (initial.ports || []).map((p) => [String(p.port), p.name || ""]), [t("port"), t("Name")]);
  const strategy = field(t("Strategy"), "strategy", {}, ["rolling", "blue-green"]);
  const host = field(t("Domain (host)"), "host", { placeholder: "shop.example.com" });
  const fields = [name, image, replicas, command, args, cpu, mem, cpuL, memL, probePath, probePort, env.field, ports.field, strategy, host];
  const node = el("div", { class: "form-grid" }, name.row, image.row, replicas.row, command.row, args.row, env.node, ports.node,
    el("div", { class: "grid4" }, cpu.row, mem.row, cpuL.row, memL.row), el("div", { class: "grid4" }, probePath.row, probePort.row));
  if (create) node.append(strategy.row, host.row);
  const split = (s: string) => s.match(/'[^']*'|"[^"]*"|\S+/g)?.map((x) => x.replace(/^['"]|['"]$/g, "")) || [];
  const check = () => {
    let ok = true;
    const bad = (f: Field, m: string) => { if (ok) f.input.focus(); ok = false; f.msg.textContent = m; f.input.setAttribute("aria-invalid", "true"); };
    for (const f of fields) { f.msg.textContent = ""; f.input.removeAttribute("aria-invalid"); }
    if (create && !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name.input.value)) bad(name, name.input.value ? "lower-case letters, digits and '-'" : t("is required"));
    if (!image.input.value.trim()) bad(image, t("is required"));
    if (!/^\d+$/.test(replicas.input.value)) bad(replicas, t("must be a number"));
    for (const [p] of ports.value()) if (!/^\d+$/.test(p) || +p < 1 || +p > 65535) bad(ports.field, `${p || "?"}: 1–65535`);
    for (const [k] of env.value()) if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k)) bad(env.field, `${k || "?"}: not a variable name`);
    if (probePath.input.value && !probePort.input.value) bad(probePort, t("is required"));
    return ok;
  };
  const value = () => {
    const v: Record<string, unknown> = { image: image.input.value.trim(), replicas: Number(replicas.input.value) };
    if (create) { v.name = name.input.value.trim(); v.strategy = strategy.input.value; if (host.input.value.trim()) v.host = host.input.value.trim(); }
    if (command.input.value.trim()) v.command = split(command.input.value);
    if (args.input.value.trim()) v.args = split(args.input.value);
    const e = env.value(); if (e.length) v.env = Object.fromEntries(e);
    const p = ports.value(); if (p.length) v.ports = p.map(([port, n]) => (n ? { port: Number(port), name: n } : { port: Number(port) }));
    const r: Record<string, string> = {};
    for (const [f, k] of [[cpu, "cpu_request"], [mem, "memory_request"], [cpuL, "cpu_limit"], [memL, "memory_limit"]] as [Field, string][]) if (f.input.value.trim()) r[k] = f.input.value.trim();
    if (Object.keys(r).length) v.resources = r;
    if (probePort.input.value) v.readiness = probePath.input.value ? { path: probePath.input.value, port: Number(probePort.input.value) } : { port: Number(probePort.input.value) };
    return v;
  };
  return { node, fields, value, check };
}

async function renderNewApp(ctx: Ctx, main: HTMLElement) {
  const f = specForm({ replicas: 1 }, true);
  const err = el("div", { class: "error", role: "alert" });
  const result = el("div");
  const submit = el("button", { class: "primary", type: "submit" }, t("Preview the change"));
  const form = el("form", { class: "spec", "aria-label": t("New app"), novalidate: "" }, f.node, el("div", { class: "actions" }, submit), err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!f.check()) return;
    submit.disabled = true;
    try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/apps?${scope(ctx)}`, f.value()))); }
    catch (e) { showFieldError(f.fields, e, err); }
    finally { submit.disabled = false; }
  });
  main.append(el("h1", {}, t("New app")), form, result);
  (f.fields[0].input as HTMLInputElement).focus();
}

// ---- one app ----

const tabs: [string, string][] = [["overview", "Overview"], ["pods", "Pods"], ["logs", "Logs"], ["revisions", "Revisions"], ["settings", "Settings"],
  ["autoscaling", "Autoscaling"], ["strategy", "Strategy"], ["monitoring", "Monitoring"], ["domains", "Domains"]];

async function renderApp(ctx: Ctx, main: HTMLElement, app: string, tab: string) {
  const bar = el("div", { class: "tabs", role: "tablist", "aria-label": app });
  for (const [id, label] of tabs) {
    const a = el("a", { href: `/apps/${encodeURIComponent(app)}/${id}`, role: "tab", "data-tab": id, "aria-selected": String(id === tab) }, t(label));
    a.addEventListener("click", (ev) => { ev.preventDefault(); ctx.go(`apps/${encodeURIComponent(app)}/${id}`); });
    bar.append(a);
  }
  const panel = el("section", { role: "tabpanel", class: "panel", "data-panel": tab });
  main.append(el("div", { class: "row" }, el("h1", {}, app)), bar, panel);
  try {
    switch (tab) {
      case "pods": return await podsTab(ctx, panel, app);
      case "logs": return await logsTab(ctx, panel, app, new URLSearchParams(location.search).get("pod") || "");
      case "revisions": return await revisionsTab(ctx, panel, app);
      case "settings": return await settingsTab(ctx, panel, app);
      case "autoscaling": return await hpaTab(ctx, panel, app);
      case "strategy": return await strategyTab(ctx, panel, app);
      case "monitoring": return await monitoringTab(ctx, panel, app);
      case "domains": return await domainsTab(ctx, panel, app);
      default: return await overviewTab(ctx, panel, app);
    }
  } catch (e) { panel.append(el("p", { class: "error" }, errorText(e))); }
}

interface AppStatus { status: { image: string; desired: number; ready: number; rollout: string; revision: number; strategy: string; conditions?: { type: string; status: string; reason?: string; message?: string }[]; problems?: string[] }; config: Config }

async function overviewTab(ctx: Ctx, panel: HTMLElement, app: string) {
  const { data } = await ctx.api.call<AppStatus>("GET", `/api/v1/apps/${encodeURIComponent(app)}?${scope(ctx)}`);
  const st = data.status;
  const result = el("div");
  const replicas = el("input", { type: "number", min: "0", max: "500", name: "replicas", value: String(st.desired), id: "scale-replicas" });
  const scale = button(t("Save"), async () => {
    try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/apps/${encodeURIComponent(app)}/scale?${scope(ctx)}`, { replicas: Number(replicas.value) }))); }
    catch (e) { result.replaceChildren(el("p", { class: "error" }, errorText(e))); }
  }, "", { "data-action": "scale" });
  const restart = button(t("Restart"), async () => {
    try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/apps/${encodeURIComponent(app)}/restart?${scope(ctx)}`))); }
    catch (e) { result.replaceChildren(el("p", { class: "error" }, errorText(e))); }
  }, "", { "data-action": "restart" });
  const del = button(t("Delete app"), async () => {
    try { result.replaceChildren(outcome(await change(ctx, "DELETE", `/api/v1/apps/${encodeURIComponent(app)}?${scope(ctx)}`))); }
    catch (e) { result.replaceChildren(el("p", { class: "error" }, errorText(e))); }
  }, "danger");
  const diagnosis = el("div", { class: "answer diagnosis", "aria-live": "polite" });
  const diagnose = button(t("Diagnose"), async () => {
    diagnose.disabled = true;
    let acc = "";
    diagnosis.replaceChildren(el("p", { class: "meta" }, t("Loading…")));
    try {
      await ctx.api.stream("/api/v1/chat", { message: `diagnose ${app}`, tenant: ctx.tenant, env: ctx.env }, (e: AgentEvent) => {
        if (e.type === "text_delta") acc += e.text || "";
        if (e.type === "final") acc = e.text || acc;
        if (e.type === "error") acc += `\n\n${e.error}`;
        diagnosis.replaceChildren(renderMarkdown(acc));
      });
    } catch (e) { diagnosis.replaceChildren(el("p", { class: "error" }, errorText(e))); }
    diagnose.disabled = false;
  }, "primary", { "data-action": "diagnose" });
  panel.append(
    el("dl", { class: "facts" }, el("dt", {}, t("Image")), el("dd", { class: "mono" }, st.image), el("dt", {}, t("Ready")), el("dd", {}, `${st.ready}/${st.desired}`),
      el("dt", {}, t("Rollout")), el("dd", {}, st.rollout), el("dt", {}, t("revision")), el("dd", {}, String(st.revision)), el("dt", {}, t("Strategy")), el("dd", {}, st.strategy)),
    ...(st.problems?.length ? [el("div", { class: "card" }, el("strong", {}, t("Problems")), ...st.problems.map((p) => el("div", {}, p)))] : []),
    el("div", { class: "row" }, el("label", { for: "scale-replicas" }, t("Replicas")), replicas, scale, restart, diagnose, del), result, diagnosis,
    el("h2", {}, t("Conditions")), table(["type", "status", t("reason")], (st.conditions || []).map((c) => [c.type, c.status, `${c.reason || ""} ${c.message || ""}`])),
    el("h2", {}, t("Recent events")));
  const ev = await ctx.api.req<{ data: { type: string; reason: string; object: string; message: string; count?: number; last_seen?: string }[] | null }>("GET", `/api/v1/apps/${encodeURIComponent(app)}/events?${scope(ctx)}`);
  panel.append(table(["type", t("reason"), "object", "message"], (ev.data || []).slice(0, 20).map((e) => [e.type, e.reason, e.object, e.message])));
}

interface Pod { name: string; phase: string; ready: boolean | string; restarts: number; reason?: string; node?: string }

async function podsTab(ctx: Ctx, panel: HTMLElement, app: string) {
  const r = await ctx.api.req<{ data: Pod[] | null }>("GET", `/api/v1/apps/${encodeURIComponent(app)}/pods?${scope(ctx)}`);
  panel.append(table([t("pod"), t("phase"), t("Ready"), t("restarts"), t("reason"), t("node"), ""], (r.data || []).map((p) => {
    const logs = el("a", { href: `/apps/${encodeURIComponent(app)}/logs?pod=${encodeURIComponent(p.name)}`, "data-logs": p.name }, t("open logs"));
    logs.addEventListener("click", (ev) => { ev.preventDefault(); ctx.go(`apps/${encodeURIComponent(app)}/logs?pod=${encodeURIComponent(p.name)}`); });
    const term = el("a", { href: `/terminal?pod=${encodeURIComponent(p.name)}` }, t("open terminal"));
    term.addEventListener("click", (ev) => { ev.preventDefault(); ctx.go(`terminal?pod=${encodeURIComponent(p.name)}`); });
    return [p.name, p.phase, String(p.ready), String(p.restarts), p.reason || "", p.node || "", el("span", { class: "links" }, logs, " · ", term)];
  }), { class: "pods" }));
}

async function logsTab(ctx: Ctx, panel: HTMLElement, app: string, pod: string) {
  const podF = field(t("pod"), "pod", { value: pod, placeholder: "(first pod)" });
  const filter = field(t("Filter lines"), "q", { type: "search" });
  const tail = field(t("Lines"), "tail", { type: "number", value: "200", min: "1", max: "10000" });
  const prev = el("input", { type: "checkbox", id: "logs-prev", name: "previous" });
  const follow = el("input", { type: "checkbox", id: "logs-follow", name: "follow", checked: "" });
  const out = el("pre", { class: "logs", "aria-live": "polite", tabindex: "0" });
  const status = el("span", { class: "meta", role: "status" });
  let abort: AbortController | null = null;
  const start = async () => {
    abort?.abort();
    abort = new AbortController();
    out.replaceChildren();
    status.textContent = t("Loading…");
    const q = scope(ctx, { tail: tail.input.value || "200", follow: String(follow.checked), previous: String(prev.checked) });
    const extra = (podF.input.value ? `&pod=${encodeURIComponent(podF.input.value)}` : "") + (filter.input.value ? `&q=${encodeURIComponent(filter.input.value)}` : "");
    try {
      await ctx.api.events(`/api/v1/apps/${encodeURIComponent(app)}/logs?${q}${extra}`, (event, data) => {
        if (event === "line") { out.append(el("div", { class: "line" }, data.text)); status.textContent = data.pod; }
        if (event === "end") status.textContent = data.error ? data.error : `${data.pod}: end`;
      }, abort.signal);
    } catch (e) { if (!abort.signal.aborted) status.textContent = errorText(e); }
  };
  const stop = () => { abort?.abort(); status.textContent = t("Stop"); };
  panel.append(el("form", { class: "row", "aria-label": t("Logs") }, podF.row, filter.row, tail.row,
    el("label", { for: "logs-prev" }, prev, t("Previous container")), el("label", { for: "logs-follow" }, follow, t("Follow")),
    button(t("Start"), start, "primary", { "data-action": "logs" }), button(t("Stop"), stop)), status, out);
  await start();
}

interface Revision { revision: number; image: string; cause?: string; replicas: number; created: string; current: boolean }

async function revisionsTab(ctx: Ctx, panel: HTMLElement, app: string) {
  const r = await ctx.api.req<{ data: Revision[] | null }>("GET", `/api/v1/apps/${encodeURIComponent(app)}/revisions?${scope(ctx)}`);
  const result = el("div");
  panel.append(table([t("revision"), t("Image"), t("cause"), t("created"), ""], (r.data || []).map((v) => [String(v.revision), v.image, v.cause || "", when(v.created),
    v.current ? badge(t("current"), "healthy") : button(t("Rollback to this revision"), async () => {
      try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/apps/${encodeURIComponent(app)}/rollback?${scope(ctx)}`, { revision: v.revision }))); }
      catch (e) { result.replaceChildren(el("p", { class: "error" }, errorText(e))); }
    }, "", { "data-rollback": String(v.revision) })]), { class: "revisions" }), result);
}

async function settingsTab(ctx: Ctx, panel: HTMLElement, app: string) {
  const { data, etag } = await ctx.api.call<AppStatus>("GET", `/api/v1/apps/${encodeURIComponent(app)}?${scope(ctx)}`);
  const f = specForm(data.config, false);
  const err = el("div", { class: "error", role: "alert" });
  const result = el("div");
  const submit = el("button", { class: "primary", type: "submit" }, t("Preview the change"));
  const form = el("form", { class: "spec", "aria-label": t("Settings"), novalidate: "" }, f.node,
    ...(data.config.env_from?.length ? [el("p", { class: "meta" }, `env from Secrets/ConfigMaps: ${data.config.env_from.join(", ")}`)] : []),
    el("div", { class: "actions" }, submit), err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!f.check()) return;
    try { result.replaceChildren(outcome(await change(ctx, "PUT", `/api/v1/apps/${encodeURIComponent(app)}?${scope(ctx)}`, f.value(), { "If-Match": etag }))); }
    catch (e) { showFieldError(f.fields, e, err); }
  });
  panel.append(form, result);
}

async function hpaTab(ctx: Ctx, panel: HTMLElement, app: string) {
  const result = el("div");
  let current: { min_replicas?: number; max_replicas?: number; cpu_target_percent?: number } | null = null;
  try { current = (await ctx.api.req<{ data: any }>("GET", `/api/v1/apps/${encodeURIComponent(app)}/hpa?${scope(ctx)}`)).data; }
  catch { panel.append(el("p", { class: "meta" }, t("No autoscaler."))); }
  const min = field(t("Min replicas"), "min_replicas", { type: "number", min: "1", value: String(current?.min_replicas ?? 1) });
  const max = field(t("Max replicas"), "max_replicas", { type: "number", min: "1", value: String(current?.max_replicas ?? 3) });
  const cpu = field(t("CPU target %"), "cpu_target_percent", { type: "number", min: "1", max: "100", value: String(current?.cpu_target_percent ?? 70) });
  const err = el("div", { class: "error", role: "alert" });
  const form = el("form", { class: "row", "aria-label": t("Autoscaling") }, min.row, max.row, cpu.row, el("button", { class: "primary", type: "submit" }, t("Preview the change")),
    button(t("Remove autoscaler"), async () => {
      try { result.replaceChildren(outcome(await change(ctx, "DELETE", `/api/v1/apps/${encodeURIComponent(app)}/hpa?${scope(ctx)}`))); } catch (e) { err.textContent = errorText(e); }
    }, "danger"), err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      result.replaceChildren(outcome(await change(ctx, "PUT", `/api/v1/apps/${encodeURIComponent(app)}/hpa?${scope(ctx)}`,
        { min_replicas: Number(min.input.value), max_replicas: Number(max.input.value), cpu_target_percent: Number(cpu.input.value) })));
    } catch (e) { showFieldError([min, max, cpu], e, err); }
  });
  if (current) panel.append(el("pre", { class: "diff" }, JSON.stringify(current, null, 2)));
  panel.append(form, result);
}

async function strategyTab(ctx: Ctx, panel: HTMLElement, app: string) {
  const { data } = await ctx.api.call<AppStatus & { status: { canary?: unknown; blue_green?: unknown } }>("GET", `/api/v1/apps/${encodeURIComponent(app)}?${scope(ctx)}`);
  const result = el("div");
  const err = el("div", { class: "error", role: "alert" });
  const run = (method: string, path: string, body?: unknown) => async () => {
    try { result.replaceChildren(outcome(await change(ctx, method, path, body))); } catch (e) { err.textContent = errorText(e); }
  };
  panel.append(el("p", {}, `${t("Strategy")}: ${data.status.strategy}`));
  if (data.status.strategy === "blue-green") {
    panel.append(el("pre", { class: "diff" }, JSON.stringify(data.status.blue_green, null, 2)), button(t("Switch slot"), run("POST", `/api/v1/apps/${encodeURIComponent(app)}/switch?${scope(ctx)}`), "primary"));
  } else {
    const image = field(t("Canary image"), "image", { value: data.config.image });
    const weight = field(t("Canary weight %"), "weight_percent", { type: "number", min: "1", max: "99", value: "20" });
    const form = el("form", { class: "row", "aria-label": t("Start canary") }, image.row, weight.row, el("button", { class: "primary", type: "submit" }, t("Start canary")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try { result.replaceChildren(outcome(await change(ctx, "POST", `/api/v1/apps/${encodeURIComponent(app)}/canary?${scope(ctx)}`, { image: image.input.value, weight_percent: Number(weight.input.value) }))); }
      catch (e) { showFieldError([image, weight], e, err); }
    });
    panel.append(form);
    if (data.status.canary) {
      panel.append(el("pre", { class: "diff" }, JSON.stringify(data.status.canary, null, 2)),
        el("div", { class: "row" }, button(t("Promote"), run("POST", `/api/v1/apps/${encodeURIComponent(app)}/canary/promote?${scope(ctx)}`), "primary"),
          button(t("Abort"), run("POST", `/api/v1/apps/${encodeURIComponent(app)}/canary/abort?${scope(ctx)}`), "danger")));
    }
  }
  panel.append(err, result);
}

async function monitoringTab(ctx: Ctx, panel: HTMLElement, app: string) {
  const [{ data }, pods] = await Promise.all([
    ctx.api.call<AppStatus>("GET", `/api/v1/apps/${encodeURIComponent(app)}?${scope(ctx)}`),
    ctx.api.req<{ data: Pod[] | null }>("GET", `/api/v1/apps/${encodeURIComponent(app)}/pods?${scope(ctx)}`),
  ]);
  const r = data.config.resources || {};
  panel.append(el("p", { class: "meta" }, t("Replicas & restarts per pod, with requests and limits.")),
    el("dl", { class: "facts" }, el("dt", {}, t("CPU request")), el("dd", {}, r.cpu_request || "—"), el("dt", {}, t("CPU limit")), el("dd", {}, r.cpu_limit || "—"),
      el("dt", {}, t("Memory request")), el("dd", {}, r.memory_request || "—"), el("dt", {}, t("Memory limit")), el("dd", {}, r.memory_limit || "—")),
    table([t("pod"), t("phase"), t("restarts")], (pods.data || []).map((p) => [p.name, p.phase, el("span", {}, el("meter", { min: "0", max: "10", value: String(Math.min(10, p.restarts)), "aria-label": `${p.name} ${t("restarts")}` }), ` ${p.restarts}`)])));
}

async function domainsTab(ctx: Ctx, panel: HTMLElement, app: string) {
  const { data } = await ctx.api.call<AppStatus>("GET", `/api/v1/apps/${encodeURIComponent(app)}?${scope(ctx)}`);
  const ing = data.config.ingress;
  panel.append(ing
    ? el("dl", { class: "facts" }, el("dt", {}, "host"), el("dd", { class: "mono" }, ing.host), el("dt", {}, "path"), el("dd", {}, ing.path || "/"),
      el("dt", {}, "TLS"), el("dd", {}, ing.tls_secret || "—"), el("dt", {}, "class"), el("dd", {}, ing.class || "—"))
    : el("p", { class: "empty" }, t("No domain: set one when the app is created (New app → Domain).")));
}
