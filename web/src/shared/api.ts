// The k8s-manage HTTP API as the console and the widget use it.

export interface Approval {
  id: string; tenant: string; env: string; requester: string; tool: string; args: string; risk: string;
  summary: string; preview: string; status: string; decided_by?: string; reason?: string; expires_at?: string;
}

export interface AgentEvent {
  type: "text_delta" | "tool_started" | "tool_finished" | "approval_requested" | "approval_decided" | "final" | "error";
  conversation?: string; text?: string; tool?: string; args?: string; result?: string; approval?: Approval; error?: string;
}

export class APIError extends Error {
  constructor(public status: number, message: string, public field?: string) { super(message); }
}

/** Client calls the API with either a bearer token (widget) or the session cookie + CSRF token (console). */
export class Client {
  constructor(public base = "", public token = "", public csrf = "") {}

  headers(json = true): Record<string, string> {
    const h: Record<string, string> = {};
    if (json) h["Content-Type"] = "application/json";
    if (this.token) h["Authorization"] = `Bearer ${this.token}`;
    if (this.csrf) h["X-CSRF-Token"] = this.csrf;
    return h;
  }

  async req<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.call<T>(method, path, body)).data;
  }

  /** call is req with extra request headers, answering the status and the ETag too. */
  async call<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ data: T; status: number; etag: string }> {
    const res = await fetch(this.base + path, {
      method, headers: { ...this.headers(body !== undefined), ...extra }, credentials: this.token ? "omit" : "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return { data: undefined as T, status: 204, etag: "" };
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new APIError(res.status, data.error || res.statusText, data.field);
    return { data: data as T, status: res.status, etag: res.headers.get("ETag") || "" };
  }

  /** events reads a GET Server-Sent Events stream (logs) until it ends or signal aborts. */
  async events(path: string, onEvent: (event: string, data: any) => void, signal?: AbortSignal): Promise<void> {
    const res = await fetch(this.base + path, { headers: { ...this.headers(false), Accept: "text/event-stream" }, credentials: this.token ? "omit" : "same-origin", signal });
    await readEvents(res, onEvent);
  }

  /** stream posts and calls onEvent for every Server-Sent Event until the stream ends. */
  async stream(path: string, body: unknown, onEvent: (e: AgentEvent) => void): Promise<void> {
    const res = await fetch(this.base + path, {
      method: "POST", headers: { ...this.headers(), Accept: "text/event-stream" },
      credentials: this.token ? "omit" : "same-origin", body: JSON.stringify(body),
    });
    await readEvents(res, (_, data) => onEvent(data as AgentEvent));
  }
}

/** readEvents reads a Server-Sent Events answer, calling onEvent with each frame's event name and JSON data. */
async function readEvents(res: Response, onEvent: (event: string, data: any) => void): Promise<void> {
  if (!res.ok || !res.body) {
    const data = await res.json().catch(() => ({}));
    throw new APIError(res.status, data.error || res.statusText, data.field);
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, i); buf = buf.slice(i + 2);
      let ev = "message", data = "";
      for (const line of frame.split("\n")) {
        if (line.startsWith("event: ")) ev = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (!data) continue;
      try { onEvent(ev, JSON.parse(data)); } catch { /* ignore a bad frame */ }
    }
  }
}

/** previewText renders a dry run's JSON (objects with field diffs) as a readable diff. */
export function previewText(preview: string): string {
  try {
    const p = JSON.parse(preview);
    if (!Array.isArray(p.objects) || p.objects.length === 0) return preview;
    return p.objects.map((o: any) => [`${o.action} ${o.kind} ${o.name}`, ...(o.diff || []).map((d: any) =>
      d.from === undefined || d.from === "" ? `  + ${d.path}: ${d.to}` : d.to === undefined || d.to === "" ? `  - ${d.path}: ${d.from}` : `  ~ ${d.path}: ${d.from} -> ${d.to}`)].join("\n")).join("\n");
  } catch { return preview; }
}

/** citations finds the knowledge chunk ids an answer cites ("[manual/canary]"). */
export function citations(text: string): string[] {
  const ids = new Set<string>();
  for (const m of text.matchAll(/\[((?:manual|faq|runbook)[^\]\s]*)\]/g)) ids.add(m[1]);
  return [...ids];
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}
