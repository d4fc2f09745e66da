// /api/docs: Swagger UI over the served contract (/api/v1/openapi.json), bundled into the
// binary with the console: nothing is fetched from elsewhere at run time.
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-bundle.js";
import "swagger-ui-dist/swagger-ui.css";

SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger",
  deepLinking: true,
  withCredentials: true,
  validatorUrl: null, // no call to swagger.io's online validator
});
