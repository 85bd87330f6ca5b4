import { readFileSync } from "node:fs";
import swagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import { ErrorBody } from "../protocol/errors.js";
import { EmptyQuery } from "../protocol/job-request.js";
import { ROUTE_DOCS } from "./route-docs.js";

/** The package's version: the document's `info.version`. Read once (src/server/ and dist/server/ alike sit two levels down). */
const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** The one security scheme: OpenAPI 3.1's `mutualTLS`. */
const MUTUAL_TLS = {
  type: "mutualTLS",
  description:
    "Every request needs a TLS 1.3 client certificate that chains to the server's CA, carries the clientAuth extended key usage and exactly one subject CN: the CN is the caller's identity, which owns the jobs it starts. Connections without one are closed at the handshake.",
};

/**
 * Generates the API's OpenAPI 3.1 document from the routes' own schemas (@fastify/swagger)
 * and serves it as `GET /openapi.json` to any authenticated identity. Must be awaited
 * before the routes are registered: the plugin learns each route from fastify's onRoute hook.
 *
 * mTLS is the one security scheme (OpenAPI 3.1's `mutualTLS` type); there is no `servers`
 * entry, since the address is each operator's, and so the document is the same on every
 * host, byte for byte as docs/openapi.json (test/server/openapi.test.ts keeps them equal).
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  // Awaited: routes registered before the plugin has loaded would be missing.
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "jobworker",
        version: VERSION,
        description:
          "Run Linux commands as jobs on a host, for remote clients authenticated by mutual TLS. Reference: docs/api.md. Every refusal is `{error, code}` (the ErrorBody schema) with a stable code, except the empty-body 404 of `status` and `output`. A known path asked with another method answers 405 `METHOD_NOT_ALLOWED` with an `Allow` header; those answers are not listed per method.",
        license: { name: "Apache-2.0", identifier: "Apache-2.0" },
      },
      tags: [
        { name: "jobs", description: "start, inspect, stop and delete the caller's jobs" },
        { name: "output", description: "what the caller's jobs wrote" },
        { name: "server", description: "the server itself" },
      ],
      components: {
        securitySchemes: {
          // openapi-types knows OpenAPI 3.0's scheme types only; 3.1 added mutualTLS.
          mutualTLS: MUTUAL_TLS as unknown as { type: "http"; scheme: string },
        },
      },
      security: [{ mutualTLS: [] }],
    },
    // Shared schemas (an $id) become named components: `ErrorBody` rather than `def-0`.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`) },
  });

  // The one shared response schema, referenced by every refusal: a named component.
  app.addSchema(ErrorBody);

  // The document never changes while the server runs: built once, on first request, by the plugin.
  app.get("/openapi.json", { schema: { querystring: EmptyQuery, ...ROUTE_DOCS.getOpenApi } }, async () => app.swagger());
}
