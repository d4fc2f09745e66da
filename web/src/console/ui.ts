// Shared pieces of the console pages: the page context, labelled fields with their validation
// message, tables, and the change flow (dry-run preview → submit for approval).
import { APIError, Client, el, previewText, type Approval } from "../shared/api";
import { t } from "./i18n";

export interface Ctx {
  api: Client;
  tenant: string;
  env: string;
  role: string;
  user: string;
  go(path: string): void;
}

const roles = ["viewer", "developer", "operator", "admin"];
export function atLeast(ctx: Ctx, role: string): boolean { return roles.indexOf(ctx.role) >= roles.indexOf(role); }

/** scope is the tenant/env query of a request. */
export function scope(ctx: Ctx, extra: Record<string, string> = {}): string {
  return new URLSearchParams({ tenant: ctx.tenant, env: ctx.env, ...extra }).toString();
}

export function errorText(e: unknown): string { return e instanceof Error ? e.message : String(e); }

let fieldSeq = 0;

/** Field is a labelled input with its validation message next to it (aria-describedby). */
export interface Field { row: HTMLElement; input: HTMLInputElement | HTMLSelectElement; msg: HTMLElement; name: string }

export function field(label: string, name: string, attrs: Record<string, string> = {}, options?: string[]): Field {
  const id = `f${++fieldSeq}`;
  const input = options
    ? el("select", { id, name, ...attrs }, ...options.map((o) => el("option", { value: o }, o)))
    : el("input", { id, name, ...attrs });
  const msg = el("span", { class: "field-error", id: id + "-err", role: "alert" });
  input.setAttribute("aria-describedby", msg.id);
  const row = el("div", { class: "field", "data-field": name }, el("label", { for: id }, label), input, msg);
  return { row, input, msg, name };
}

/** showFieldError puts an API error next to the field it names (or in fallback). */
export function showFieldError(fields: Field[], e: unknown, fallback: HTMLElement) {
  for (const f of fields) { f.msg.textContent = ""; f.input.removeAttribute("aria-invalid"); }
  fallback.textContent = "";
  if (e instanceof APIError && e.field) {
    const f = fields.find((x) => e.field === x.name || e.field!.startsWith(x.name + ".") || e.field!.startsWith(x.name + "["));
    if (f) {
      f.msg.textContent = e.message;
      f.input.setAttribute("aria-invalid", "true");
      f.input.focus();
      return;
    }
  }
  fallback.textContent = errorText(e);
}

export function table(headers: string[], rows: (Node | string)[][], attrs: Record<string, string> = {}): HTMLTableElement {
  const tb = el("table", attrs, el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)))));
  const body = el("tbody");
  for (const r of rows) body.append(el("tr", {}, ...r.map((c) => el("td", {}, c))));
  tb.append(body);
  return tb;
}

export function button(label: string, onClick: () => void, cls = "", attrs: Record<string, string> = {}): HTMLButtonElement {
  const b = el("button", { type: "button", class: cls, ...attrs }, label);
  b.addEventListener("click", onClick);
  return b;
}

export interface Written { status: "pending" | "done" | "preview"; approval?: Approval; result?: unknown }

/**
 * change previews a write as a server-side dry run, shows the diff in a dialog, and on
 * "Submit for approval" sends it: the answer is the pending approval (or, where the tenant lets
 * the role bypass approval, the result). Bad input is thrown before any dialog opens, so the
 * form can show it next to its field. It resolves null when cancelled.
 */
export async function change(ctx: Ctx, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Written | null> {
  const sep = path.includes("?") ? "&" : "?";
  const pre = await ctx.api.call<Written>(method, path + sep + "dry_run=true", body, headers);
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "preview", "aria-labelledby": "preview-title" });
    const msg = el("div", { class: "error", role: "alert" });
    const submit = el("button", { class: "primary", type: "button" }, t("Submit for approval"));
    const cancel = el("button", { type: "button" }, t("Cancel"));
    dialog.append(el("h2", { id: "preview-title" }, t("Preview the change")), el("div", { class: "meta" }, `${method} ${path.split("?")[0]}`),
      el("strong", {}, t("Dry-run diff")), el("pre", { class: "diff" }, previewText(JSON.stringify(pre.data.result ?? {}))),
      el("div", { class: "actions" }, submit, cancel), msg);
    const close = (v: Written | null) => { dialog.close(); dialog.remove(); resolve(v); };
    cancel.addEventListener("click", () => close(null));
    dialog.addEventListener("cancel", (ev) => { ev.preventDefault(); close(null); });
    submit.addEventListener("click", async () => {
      submit.disabled = true;
      try { close((await ctx.api.call<Written>(method, path, body, headers)).data); }
      catch (e) { msg.textContent = errorText(e); submit.disabled = false; }
    });
    document.body.append(dialog);
    dialog.showModal();
    submit.focus();
  });
}

/** outcome renders what a submitted change became: a pending approval card, or the result. */
export function outcome(w: Written | null): HTMLElement {
  if (!w) return el("span");
  if (w.status === "pending" && w.approval) {
    return el("div", { class: "card pending-approval", "data-approval": w.approval.id, role: "status" },
      el("strong", {}, `${t("Waiting for approval")} · ${w.approval.id}`), el("div", {}, w.approval.summary),
      el("pre", { class: "diff" }, previewText(w.approval.preview)));
  }
  return el("div", { class: "card decided", role: "status" }, el("strong", {}, t("Done")), el("pre", { class: "diff" }, JSON.stringify(w.result, null, 2)));
}

export function when(s?: string): string { return s ? new Date(s).toLocaleString() : ""; }

export function badge(text: string, kind: string): HTMLElement { return el("span", { class: `pill ${kind}` }, text); }
