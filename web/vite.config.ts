import { defineConfig } from "vite";

// The console: index.html + hashed assets into dist (the Go server serves them at / and /assets/).
export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: false, assetsDir: "assets", sourcemap: false, target: "es2022" },
});
