import { defineConfig } from "vite";

// The widget: one self-contained script, dist/widget.js, for <script src="https://host/widget.js">.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: false,
    target: "es2020",
    lib: { entry: "src/widget/widget.ts", name: "K8sManageWidget", formats: ["iife"], fileName: () => "widget.js" },
  },
});
