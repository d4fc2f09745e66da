// Empties dist but keeps the placeholder the Go embed needs on a fresh clone.
import { readdirSync, rmSync, mkdirSync } from "node:fs";
mkdirSync("dist", { recursive: true });
for (const f of readdirSync("dist")) if (f !== ".gitkeep") rmSync(`dist/${f}`, { recursive: true, force: true });
