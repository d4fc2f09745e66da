// Style imports are handled by Vite.
declare module "*.css";
declare module "*.css?inline" {
  const css: string;
  export default css;
}

declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const SwaggerUIBundle: (options: Record<string, unknown>) => unknown;
  export default SwaggerUIBundle;
}
