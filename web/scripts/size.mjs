// Prints the gzipped sizes of the build and fails when the widget exceeds 50 KB gzipped.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
const files = [];
const walk = (d) => { for (const f of readdirSync(d)) { const p = `${d}/${f}`; statSync(p).isDirectory() ? walk(p) : files.push(p); } };
walk("dist");
let widget = 0;
for (const f of files.filter((f) => !f.endsWith(".gitkeep")).sort()) {
  const raw = readFileSync(f); const gz = gzipSync(raw, { level: 9 }).length;
  if (f.endsWith("/widget.js")) widget = gz;
  console.log(`${f.padEnd(40)} ${String(raw.length).padStart(8)} B  ${String(gz).padStart(7)} B gzip`);
}
if (!widget) { console.error("dist/widget.js is missing"); process.exit(1); }
if (widget > 50 * 1024) { console.error(`widget.js is ${widget} B gzipped: over the 50 KB budget`); process.exit(1); }
console.log(`widget.js: ${(widget / 1024).toFixed(1)} KB gzipped (budget 50 KB)`);
