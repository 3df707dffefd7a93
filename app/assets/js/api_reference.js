// The API reference page: Swagger UI over Kasane's own OpenAPI document (bundled, no CDN).
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-bundle.js";

const holder = document.querySelector("[data-openapi-url]");
if (holder) {
  SwaggerUIBundle({
    url: holder.dataset.openapiUrl,
    domNode: holder,
    deepLinking: false,
    supportedSubmitMethods: [],
  });
}
