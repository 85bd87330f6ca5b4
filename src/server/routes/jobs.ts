import type { IncomingMessage } from "node:http";
import { availableParallelism } from "node:os";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { JobPool, JobRecord, OutputName } from "../../engine/index.js";
import type { CreatedJob } from "../../protocol/job-request.js";
import { EmptyQuery, JobParams, JobSpec, ListQuery, LogQuery, OutputStreamQuery, SignalRequest, StatusQuery } from "../../protocol/job-request.js";
import type { JobPage } from "../../protocol/job-record.js";
import { engineLimitsOf, type ApiLimits } from "../../protocol/limits.js";
import { HttpError } from "../http-error.js";
import { jobJson, statusJson } from "../job-json.js";
import { jsonOutputStream } from "../json-output-stream.js";
import { logOptionsOf, ndjsonLog, streamOptionsOf } from "../output-query.js";
import { ROUTE_DOCS, STDIN_BODY } from "../route-docs.js";
import { StartTurns } from "../start-turns.js";

/** Options of {@link registerJobRoutes}. */
export interface JobRoutesOptions {
  pool: JobPool;
  /** Told, for each PUT /jobs whose job runs, the seconds from the request's arrival to then (metrics). */
  onJobRunning?: (seconds: number) => void;
  /** Who may act on every job (`serve --admin`), asked on each request. */
  admins: { has(identity: string): boolean };
}

/** What {@link registerJobRoutes}' `jobFor` needs of a request. */
type IdRequest = Pick<FastifyRequest, "identity" | "jobId" | "jobOwner"> & { params: JobParams };

/**
 * Who may reach a job: "owner" routes serve its owner alone (writing its stdin: an
 * admin stops a job, it does not type into it); "admin" routes serve an admin too.
 */
type Access = "owner" | "admin";

/** `?label=key=value` (repeatable) as the labels all of which must match; a 400 naming the field for one without `=`. */
function labelFilter(label: string | string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of Array.isArray(label) ? label : [label]) {
    const equals = pair.indexOf("=");
    if (equals < 1) throw new HttpError("INVALID_REQUEST", `label must be key=value (got ${JSON.stringify(pair)})`);
    const key = pair.slice(0, equals);
    if (Object.hasOwn(labels, key) && labels[key] !== pair.slice(equals + 1)) throw new HttpError("INVALID_REQUEST", `label ${key} is given twice with different values: no job could match`);
    labels[key] = pair.slice(equals + 1);
  }
  return labels;
}

/** Ids are random UUIDs as `randomUUID` writes them. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The API of docs/api.md, on `app`; the shapes are the protocol's (src/protocol/). */
export function registerJobRoutes(fastify: FastifyInstance, { pool, onJobRunning, admins }: JobRoutesOptions): void {
  // One TypeBox schema per shape: Ajv validates with it and the handlers get its type.
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const startTurns = new StartTurns();
  const arrivals = new WeakMap<object, number>();
  // The server decodes no content-encoding: a gzip body must not be read as plain JSON.
  app.addHook("onRequest", async (request) => {
    const encoding = request.headers["content-encoding"];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") throw new HttpError("UNSUPPORTED_CONTENT_ENCODING");
  });

  /**
   * The job if the caller may reach it (its owner; an admin on "admin" routes), or the one
   * 404 answer for unknown ids, malformed ids and other identities' jobs alike: nothing
   * tells them apart. An admin's request on another identity's job notes that owner for
   * the audit log.
   */
  function jobFor(request: IdRequest, body: "json" | "empty" = "json", access: Access = "admin"): JobRecord {
    const { id } = request.params;
    const notFound = () => new HttpError("JOB_NOT_FOUND", undefined, { emptyBody: body === "empty" });
    if (!UUID.test(id)) throw notFound();
    let record: JobRecord;
    try {
      record = pool.get(id);
    } catch (err) {
      if ((err as { code?: unknown }).code === "JOB_NOT_FOUND") throw notFound();
      throw err;
    }
    if (record.owner !== request.identity) {
      if (access === "owner" || !admins.has(request.identity)) throw notFound();
      request.jobOwner = record.owner;
    }
    request.jobId = id;
    return record;
  }

  app.put("/jobs", {
    schema: { body: JobSpec, querystring: EmptyQuery, ...ROUTE_DOCS.startJob },
    // Before the body is read: a wrong content type is refused without parsing it.
    onRequest: async (request) => {
      // The first hook: the request's arrival, for the start latency (fastify's own
      // reply.elapsedTime counts only with a logger or an onResponse hook, else it is 0).
      arrivals.set(request, performance.now());
      if (!isJson(request.headers["content-type"])) throw new HttpError("UNSUPPORTED_MEDIA_TYPE");
    },
    handler: async (request): Promise<CreatedJob> => {
      const { cmd, args, env, cwd, limits, network, timeout_ms: timeoutMs, stdin, labels } = request.body;
      if (limits !== undefined) refuseAboveHost(limits);
      // One start per turn of the event loop, so that other requests are served between starts.
      await startTurns.next();
      // The slots are the pool's (its queue): a job past them waits, or gets 429 past the queue's bound.
      const id = await pool.start({
        cmd,
        args: args ?? [],
        env: env ?? {},
        owner: request.identity,
        ...(cwd !== undefined ? { cwd } : {}),
        ...(network !== undefined ? { network } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(stdin !== undefined ? { stdin } : {}),
        ...(limits !== undefined ? { limits: engineLimitsOf(limits) } : {}),
        ...(labels !== undefined ? { labels } : {}),
      });
      request.jobId = id;
      const arrived = arrivals.get(request);
      if (onJobRunning && arrived !== undefined && pool.status(id).state === "running") onJobRunning((performance.now() - arrived) / 1000);
      const { state, queuePosition } = pool.status(id);
      // The id is acknowledged only once its record is on disk (a shared, off-thread fsync).
      await pool.persisted();
      return state === "queued" && queuePosition !== undefined ? { id, status: "queued", queue_position: queuePosition } : { id };
    },
  });

  app.get(
    "/jobs",
    { schema: { querystring: ListQuery, ...ROUTE_DOCS.listJobs } },
    async (request): Promise<JobPage> => {
      const { limit, cursor, label, status } = request.query;
      const owner = listedOwner(request);
      const page = pool.listPage({
        ...(owner !== "*" && { owner }),
        ...(limit !== undefined && { limit: Number(limit) }),
        ...(cursor !== undefined && { cursor }),
        ...(status !== undefined && { state: status }),
        ...(label !== undefined && { labels: labelFilter(label) }),
      });
      return { jobs: page.jobs.map(jobJson), ...(page.nextCursor !== undefined && { next_cursor: page.nextCursor }) };
    },
  );

  app.get("/jobs/:id", { schema: { params: JobParams, querystring: EmptyQuery, ...ROUTE_DOCS.getJob } }, async (request) => jobJson(jobFor(request)));

  app.get("/jobs/:id/status", { schema: { params: JobParams, querystring: StatusQuery, ...ROUTE_DOCS.getJobStatus } }, async (request) => {
    const { id } = jobFor(request, "empty");
    const waitSeconds = Number((request.query as StatusQuery).wait ?? 0);
    // A long poll: answers when the job ends (the engine's own event), the wait is over,
    // or the client leaves, whichever comes first.
    if (waitSeconds > 0 && ["queued", "running"].includes(pool.status(id).state)) await endOrTimeout(pool.wait(id), waitSeconds * 1000, request.raw);
    return statusJson(jobFor(request, "empty"));
  });

  app.get("/jobs/:id/output", { schema: { params: JobParams, querystring: EmptyQuery, ...ROUTE_DOCS.getJobOutput } }, async (request, reply) => {
    const { id } = jobFor(request, "empty");
    return sendStream(reply, "application/json; charset=utf-8", jsonOutputStream(pool, id));
  });

  for (const which of ["stdout", "stderr"] as const satisfies readonly OutputName[]) {
    app.get(
      `/jobs/:id/${which}`,
      { schema: { params: JobParams, querystring: OutputStreamQuery, ...(which === "stdout" ? ROUTE_DOCS.getJobStdout : ROUTE_DOCS.getJobStderr) } },
      async (request, reply) => {
        const { id } = jobFor(request);
        return sendStream(reply, "application/octet-stream", pool.stream(id, which, streamOptionsOf(request.query)));
      },
    );
  }

  app.get("/jobs/:id/log", { schema: { params: JobParams, querystring: LogQuery, ...ROUTE_DOCS.getJobLog } }, async (request, reply) => {
    const { id } = jobFor(request);
    return sendStream(reply, "application/x-ndjson", ndjsonLog(pool.log(id, logOptionsOf(request.query))));
  });

  app.post("/jobs/:id/stop", { schema: { params: JobParams, querystring: EmptyQuery, ...ROUTE_DOCS.stopJob } }, async (request, reply) => {
    const { id } = jobFor(request);
    await pool.stop(id);
    return reply.code(200).send();
  });

  app.post("/jobs/:id/signal", { schema: { params: JobParams, querystring: EmptyQuery, body: SignalRequest, ...ROUTE_DOCS.signalJob } }, async (request, reply) => {
    const { id } = jobFor(request);
    await pool.signal(id, request.body.signal as NodeJS.Signals);
    return reply.code(200).send();
  });

  app.delete("/jobs/:id", { schema: { params: JobParams, querystring: EmptyQuery, ...ROUTE_DOCS.deleteJob } }, async (request, reply) => {
    const { id } = jobFor(request);
    await pool.delete(id);
    return reply.code(200).send();
  });

  /**
   * Whose jobs `GET /jobs` lists: the caller's own without `owner` (or with their own
   * name); another identity's, or everyone's for `*`, for an admin alone (403 otherwise:
   * a refusal that says nothing of whether that identity has jobs).
   */
  function listedOwner(request: FastifyRequest<{ Querystring: ListQuery }>): string {
    const asked = request.query.owner;
    if (asked === undefined || (asked === request.identity && asked !== "*")) return request.identity;
    if (!admins.has(request.identity)) {
      throw new HttpError("ADMIN_REQUIRED", asked === "*" ? "only the server's admins may list every identity's jobs" : "only the server's admins may list another identity's jobs");
    }
    request.jobOwner = asked;
    return asked;
  }

  // The body of PUT /jobs/<id>/stdin is the job's stdin, streamed: its own content-type
  // parser hands the request stream on unread (no body limit, no buffering), and only in
  // this encapsulated context, so that every other route still takes JSON alone.
  void app.register(async (stdinScope) => {
    stdinScope.removeAllContentTypeParsers();
    stdinScope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    stdinScope.put(
      "/jobs/:id/stdin",
      {
        schema: { params: JobParams, querystring: EmptyQuery, ...ROUTE_DOCS.writeJobStdin },
        // The body is a stream, so it has no schema fastify could validate; the document
        // alone says what it is.
        config: { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, consumes: ["application/octet-stream"], body: STDIN_BODY }, url }) },
      },
      async (request, reply) => {
        const { id } = jobFor(request as unknown as IdRequest, "json", "owner");
        const stdin = pool.openStdin(id);
        const body = request.body as Readable | undefined;
        try {
          // pipeline applies backpressure both ways: a job that stops reading holds the
          // sender, and nothing is buffered beyond the streams' own high-water marks.
          if (body) await pipeline(body, stdin);
          else stdin.end();
        } catch {
          stdin.destroy();
          // The job ended (EPIPE) or the sender went away mid-body.
          throw new HttpError("STDIN_NOT_AVAILABLE", "the job's stdin closed before the whole body was written");
        }
        return reply.code(200).send();
      },
    );
  });

}

/** The host's CPUs, as `docker run --cpus` counts them (those this process may run on). */
const HOST_CPUS = availableParallelism();

/** A request for more CPUs than the host has could never be met: refused, naming the count. */
function refuseAboveHost(limits: ApiLimits): void {
  if (limits.cpus !== undefined && limits.cpus > HOST_CPUS) {
    throw new HttpError("LIMIT_ABOVE_HOST", `limits.cpus must be at most ${HOST_CPUS}: this host has ${HOST_CPUS} CPU${HOST_CPUS === 1 ? "" : "s"}`);
  }
}

/**
 * Sends a stream and its headers at once. Node sends a streamed response's headers with
 * its first byte, so a follower of a quiet job would otherwise not even learn that its
 * request was accepted until the job writes something.
 */
function sendStream(reply: FastifyReply, contentType: string, body: Readable): FastifyReply {
  reply.type(contentType).header("cache-control", "no-store").send(body);
  if (!reply.raw.headersSent && !reply.raw.destroyed) reply.raw.flushHeaders();
  return reply;
}

/** True for `application/json`, optionally with a UTF-8 charset parameter. */
function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json") return false;
  return params.every((p) => p === "" || p === "charset=utf-8" || p === 'charset="utf-8"');
}

/** Resolves when `ended` does, after `ms`, or when the request's connection closes. */
function endOrTimeout(ended: Promise<unknown>, ms: number, request: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      request.off("close", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    request.once("close", done);
    ended.then(done, done);
  });
}
