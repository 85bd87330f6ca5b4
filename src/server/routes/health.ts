import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import type { JobPool } from "../../engine/index.js";
import { HealthJson } from "../../protocol/health.js";
import { EmptyQuery } from "../../protocol/job-request.js";
import { HttpError } from "../http-error.js";
import { ROUTE_DOCS } from "../route-docs.js";

/**
 * `GET /healthz`, for load balancers and supervisors: any authenticated identity may ask.
 * It asks the pool about its data directory only (free space, a writable store) and never
 * reads job data, so polling it costs no database work.
 */
export function registerHealthRoute(fastify: FastifyInstance, pool: JobPool): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get("/healthz", {
    schema: { querystring: EmptyQuery, ...ROUTE_DOCS.getHealth },
    handler: async (): Promise<HealthJson> => healthOf(pool),
  });
}

/**
 * The answer of `GET /healthz`, on the API and on the plain metrics listener alike:
 * `{"status": "ok"}`, or an `UNHEALTHY` {@link HttpError} (503) saying why.
 */
export function healthOf(pool: Pick<JobPool, "health">): HealthJson {
  const health = pool.health();
  if (!health.ok) throw new HttpError("UNHEALTHY", `the server cannot take jobs: ${health.reason}`);
  return { status: "ok" };
}
