import type { FastifyInstance } from "fastify";
import { HttpError } from "../http-error.js";

const METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] as const;

/**
 * Makes each known path answer the methods it does not serve with 405
 * `METHOD_NOT_ALLOWED` and an `Allow` header listing those it does, instead of the 404
 * of an unknown path: `allowed` maps a route pattern to its methods.
 */
export function registerMethodNotAllowed(app: FastifyInstance, allowed: Readonly<Record<string, readonly string[]>>): void {
  for (const [url, methods] of Object.entries(allowed)) {
    app.route({
      method: METHODS.filter((m) => !methods.includes(m)),
      url,
      // Not an operation of the API: the OpenAPI document says once, in its description, that these answer 405.
      schema: { hide: true },
      handler: async (_request, reply) => {
        reply.header("allow", methods.join(", "));
        throw new HttpError("METHOD_NOT_ALLOWED");
      },
    });
  }
}
