import { defineConfig } from "vite";

// The console (index.html) and the API reference (api-docs.html, Swagger UI): HTML plus hashed
// assets into dist (the Go server serves them at /, /api/docs and /assets/).
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist", emptyOutDir: false, assetsDir: "assets", sourcemap: false, target: "es2022",
    rollupOptions: { input: { main: "index.html", apidocs: "api-docs.html" } },
  },
});
