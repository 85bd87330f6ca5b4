import type { FastifyInstance } from "fastify";
import { HttpError } from "../http-error.js";

const METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] as const;

/**
 * Makes each path the app serves answer the methods it does not serve with 405
 * `METHOD_NOT_ALLOWED` and an `Allow` header listing those it does, instead of the 404
 * of an unknown path. `served` is every route fastify registered (its onRoute hook), so
 * the table is the routes themselves: call this once they are all registered.
 */
export function registerMethodNotAllowed(app: FastifyInstance, served: readonly { method: string; url: string }[]): void {
  const allowed = new Map<string, Set<string>>();
  for (const { method, url } of served) {
    if (!allowed.has(url)) allowed.set(url, new Set());
    allowed.get(url)!.add(method);
  }
  for (const [url, set] of allowed) {
    const methods = [...set].sort();
    app.route({
      method: METHODS.filter((m) => !set.has(m)),
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
