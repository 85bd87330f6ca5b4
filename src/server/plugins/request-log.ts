// Once a request's response is over (finished or aborted): its count by route template
// and status (metrics), and its audit line. A plugin for the requests that reach
// routing; `track` is also what the app's constructor options call for requests refused
// before that (a malformed URL, Node's parser), so that every request is audited.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { TLSSocket } from "node:tls";
import type { AuditDestination } from "../audit-log.js";
import { createAuditWriter } from "../audit-log.js";
import { identityOf } from "../client-identity.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";

/** Counts and audits requests as they end. */
export interface RequestLog {
  /** The audit writer (for Node's client errors, which have no request). */
  readonly audit: ReturnType<typeof createAuditWriter>;
  /** Counts and audits this request once its response is over. */
  track(request: FastifyRequest, reply: FastifyReply): void;
}

/** The request log of an app: audit lines to `auditOut` (none when false), counts to `metrics`. */
export function createRequestLog(auditOut: AuditDestination | false, metrics: ServerMetrics | undefined, log: (line: string) => void): RequestLog {
  const audit = createAuditWriter(auditOut, log);
  return {
    audit,
    // One listener for both, and the route template (a getter that builds an object)
    // read once: this runs for every request.
    track(request, reply) {
      if (auditOut === false && !metrics) return;
      const started = performance.now();
      const time = auditOut === false ? "" : new Date().toISOString();
      reply.raw.once("close", () => {
        const route = request.routeOptions?.url;
        metrics?.requestDone(route, reply.raw.statusCode);
        if (auditOut === false) return;
        audit({
          time,
          identity: request.identity || identityOf(request.raw.socket as TLSSocket) || null,
          method: request.method,
          route: route ?? request.url.slice(0, 200),
          job_id: request.jobId ?? null,
          ...(request.jobOwner !== null && { owner: request.jobOwner }),
          status: reply.raw.statusCode,
          duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
          ...(reply.raw.writableFinished ? {} : { aborted: true as const }),
        });
      });
    },
  };
}

/** Tracks every routed request from its first hook: register before the other onRequest hooks. */
export const requestLogPlugin = fp<{ requestLog: RequestLog }>(
  async (app: FastifyInstance, { requestLog }) => {
    app.addHook("onRequest", async (request, reply) => requestLog.track(request, reply));
  },
  { name: "jobworker-request-log" },
);
