// The API docs page: Swagger UI over this deployment's /openapi.json. A file of
// its own, not an inline script, so the page's CSP keeps script-src 'self'.
// Runs after swagger-ui-bundle.js (both are deferred, so they run in order).
"use strict";

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayRequestDuration: true,
  // A key typed into "Authorize" lives as long as the tab, never in storage.
  persistAuthorization: false,
  // No badge from validator.swagger.io: the page talks to this origin only.
  validatorUrl: null,
});
