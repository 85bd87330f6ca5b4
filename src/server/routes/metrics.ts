import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { EmptyQuery } from "../../protocol/job-request.js";
import { HttpError } from "../http-error.js";
import { ROUTE_DOCS } from "../route-docs.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";

/**
 * `GET /metrics`: the Prometheus text format, for the server's admins only (the metrics
 * name every identity running jobs); anyone else gets 403 ADMIN_REQUIRED. A local agent
 * without a certificate uses `serve --metrics-listen` instead.
 */
export function registerMetricsRoute(fastify: FastifyInstance, metrics: ServerMetrics, isAdmin: (identity: string) => boolean): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get("/metrics", {
    schema: { querystring: EmptyQuery, ...ROUTE_DOCS.getMetrics },
    handler: async (request, reply) => {
      if (!isAdmin(request.identity)) throw new HttpError("ADMIN_REQUIRED", "only the server's admins (serve --admin) may read its metrics");
      const text = await metrics.text();
      return reply.type(metrics.contentType).header("cache-control", "no-store").send(text);
    },
  });
}
