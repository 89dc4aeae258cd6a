// Starts Swagger UI on /docs with the API's own document. A file, not an inline script, so the
// page's Content-Security-Policy can allow scripts from this origin only.
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // never ask a third party to validate the document
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
