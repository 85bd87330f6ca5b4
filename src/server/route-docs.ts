import { Type, type TSchema } from "@sinclair/typebox";
import type { ErrorCode } from "../protocol/error-codes.js";
import { ErrorBody } from "../protocol/errors.js";
import { HealthJson } from "../protocol/health.js";
import { JobOutput, JobPage, JobRecordJson, JobStatusJson, LogChunk } from "../protocol/job-record.js";
import { CreatedJob } from "../protocol/job-request.js";
import { ERRORS } from "./errors.js";

/**
 * What the OpenAPI document (`GET /openapi.json`, docs/openapi.json) says of each route
 * beyond its request schemas: a summary, an operationId for generated clients, and every
 * answer it can give, success and refusal. Each route spreads its entry into its
 * `schema`, so the document is generated from the routes themselves.
 *
 * The response schemas describe; they do not shape. start-server.ts serializes with
 * JSON.stringify instead of fastify's schema-driven serializer, which would silently drop
 * any field a schema here forgot (see docs/design.md, "The OpenAPI document").
 */

/** Codes any route may answer (from the request's framing, the server's state, a bug). */
const ANY_ROUTE: readonly ErrorCode[] = ["INVALID_REQUEST", "UNSUPPORTED_CONTENT_ENCODING", "INTERNAL", "SHUTTING_DOWN"];

/** An empty body, as `DELETE`, `stop` and `stdin` answer success (`type: null`: no content). */
function empty(description: string): TSchema {
  return Type.Null({ description });
}

/** A JSON answer. */
function json(schema: TSchema, description: string): TSchema {
  return { ...schema, description };
}

/** An error body, `{error, code}`: a reference to the shared `ErrorBody` schema (src/server/openapi.ts adds it). */
function refusal(description: string): TSchema {
  return Type.Unsafe({ $ref: `${ErrorBody.$id}#`, description });
}

/** A streamed answer of raw bytes. */
function bytes(description: string): TSchema {
  return Type.Unsafe({ description, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } });
}

/** A streamed answer of JSON objects, one per line. */
function ndjson(schema: TSchema, description: string): TSchema {
  return Type.Unsafe({ description, content: { "application/x-ndjson": { schema } } });
}

/**
 * The refusals of a route: one entry per HTTP status, whose description lists the codes
 * the route gives with it (the `ERRORS` table says which status each code has), plus
 * `default` for the refusals any route can meet before it is reached.
 */
function refusals(codes: readonly ErrorCode[], options: { emptyJobNotFound?: boolean } = {}): Record<string, TSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...codes, ...ANY_ROUTE]) {
    const status = ERRORS[code].status;
    const list = byStatus.get(status) ?? [];
    if (!list.includes(code)) list.push(code);
    byStatus.set(status, list);
  }
  const answers: Record<string, TSchema> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const description = `{error, code} with code ${list.map((c) => `\`${c}\``).join(", ")}`;
    answers[String(status)] =
      status === 404 && options.emptyJobNotFound
        ? empty("no such job for this identity (unknown id, malformed id, or another identity's job alike): an EMPTY body")
        : refusal(description);
  }
  answers.default = refusal("any other refusal, {error, code} with a code of the table in docs/api.md");
  return answers;
}

/** The route documentation fields of a fastify schema. */
interface RouteDoc {
  summary: string;
  description?: string;
  operationId: string;
  tags: string[];
  response: Record<string, TSchema>;
}

/** Every route's documentation, by operationId. */
export const ROUTE_DOCS = {
  startJob: {
    summary: "Start a job",
    description: "Starts `cmd` with `args` (no shell) as the caller's job. The id is answered once the job's record is on disk.",
    operationId: "startJob",
    tags: ["jobs"],
    response: {
      200: json(CreatedJob, "the new job's id"),
      ...refusals([
        "INVALID_JSON",
        "EMPTY_BODY",
        "INVALID_JOB_SPEC",
        "LIMIT_ABOVE_MAXIMUM",
        "TIMEOUT_ABOVE_MAXIMUM",
        "LIMIT_ABOVE_HOST",
        "LIMIT_NOT_ENFORCEABLE",
        "ISOLATION_NOT_AVAILABLE",
        "BODY_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "TOO_MANY_RUNNING_JOBS",
        "STORAGE_FULL",
      ]),
    },
  },
  listJobs: {
    summary: "List the caller's jobs (an admin: anyone's, with `owner`)",
    description:
      "One page, newest first; `next_cursor`, when present, asks for the next page. `owner=NAME` (another identity) or `owner=*` (every identity) is for the server's admins (`serve --admin`); anyone else gets 403 ADMIN_REQUIRED, and `owner` equal to the caller's own name is the same as no `owner`.",
    operationId: "listJobs",
    tags: ["jobs"],
    response: { 200: json(JobPage, "a page of the caller's jobs, or of those `owner` names"), ...refusals(["ADMIN_REQUIRED"]) },
  },
  getJob: {
    summary: "A job's record",
    operationId: "getJob",
    tags: ["jobs"],
    response: { 200: json(JobRecordJson, "the job's record"), ...refusals(["JOB_NOT_FOUND"]) },
  },
  getJobStatus: {
    summary: "A job's status (long poll with `wait`)",
    description:
      "With `wait=N` (seconds, at most 300) and a running job, the answer waits until the job ends, the N seconds pass, or the client leaves, whichever is first; either way it is the status at that time.",
    operationId: "getJobStatus",
    tags: ["jobs"],
    response: { 200: json(JobStatusJson, "the job's status"), ...refusals(["JOB_NOT_FOUND"], { emptyJobNotFound: true }) },
  },
  getJobOutput: {
    summary: "A job's output so far, as JSON",
    description: "`{stdout, stderr}` as UTF-8 text (invalid bytes as U+FFFD), streamed from the output files: any size, constant memory on the server.",
    operationId: "getJobOutput",
    tags: ["output"],
    response: { 200: json(JobOutput, "the output kept so far"), ...refusals(["JOB_NOT_FOUND"], { emptyJobNotFound: true }) },
  },
  getJobStdout: {
    summary: "A job's stdout, raw bytes (`follow` streams until the job ends)",
    description:
      "From byte `offset` (default 0), or from the last `tail` lines, or from what was captured `since` (RFC 3339 or a duration such as `10m`; with `tail` too, the later start wins). With `follow=true` the answer goes on as the job writes and ends when the job has ended and everything is sent. With `timestamps=true` each line is prefixed with its capture time (RFC 3339, milliseconds, UTC) and a space; without it the bytes are exactly the job's. `offset` with `tail` or `since` is refused.",
    operationId: "getJobStdout",
    tags: ["output"],
    response: { 200: bytes("the bytes of stdout, streamed (chunked)"), ...refusals(["JOB_NOT_FOUND", "INVALID_ARGUMENT"]) },
  },
  getJobStderr: {
    summary: "A job's stderr, raw bytes (`follow` streams until the job ends)",
    description: "As `GET /jobs/{id}/stdout`, for stderr.",
    operationId: "getJobStderr",
    tags: ["output"],
    response: { 200: bytes("the bytes of stderr, streamed (chunked)"), ...refusals(["JOB_NOT_FOUND", "INVALID_ARGUMENT"]) },
  },
  getJobLog: {
    summary: "Both output streams in capture order, as NDJSON (`follow` streams until the job ends)",
    description:
      'One JSON object per line, `{"stream": "stdout"|"stderr", "time": "<RFC 3339>", "data": "<base64>"}`, in the order the server saw the appends (not a true order of the two pipes). Takes `tail` (the last lines of both streams together), `since` and `follow` as the stream endpoints do.',
    operationId: "getJobLog",
    tags: ["output"],
    response: { 200: ndjson(LogChunk, "the chunks of both streams, one JSON object per line, streamed"), ...refusals(["JOB_NOT_FOUND", "INVALID_ARGUMENT"]) },
  },
  writeJobStdin: {
    summary: "Stream the request body into a job's stdin",
    description:
      "For a job started with `\"stdin\": true`. The body (any content type, any length, chunked or not) is written to the job's stdin with backpressure; the end of the body closes it. One writer at a time.",
    operationId: "writeJobStdin",
    tags: ["jobs"],
    response: { 200: empty("the whole body was written and stdin closed"), ...refusals(["JOB_NOT_FOUND", "STDIN_NOT_AVAILABLE"]) },
  },
  stopJob: {
    summary: "Stop a job",
    description: "SIGTERM to the job's process group, SIGKILL after the server's grace period; answers once the job has ended. Stopping an ended job is not an error.",
    operationId: "stopJob",
    tags: ["jobs"],
    response: { 200: empty("the job has ended"), ...refusals(["JOB_NOT_FOUND"]) },
  },
  signalJob: {
    summary: "Send a signal to a job",
    description: "One signal to the job's process group (and to its processes that left the group, through its cgroup), as kill(1) sends it: no grace period, no SIGKILL after it (that is POST /jobs/{id}/stop). A job still starting gets it once its process runs.",
    operationId: "signalJob",
    tags: ["jobs"],
    response: { 200: empty("the signal was sent"), ...refusals(["JOB_NOT_FOUND", "JOB_NOT_RUNNING", "INVALID_ARGUMENT", "INVALID_REQUEST"]) },
  },
  deleteJob: {
    summary: "Delete a job and its output",
    description: "A running job is stopped first.",
    operationId: "deleteJob",
    tags: ["jobs"],
    response: { 200: empty("the job and its output are gone"), ...refusals(["JOB_NOT_FOUND"]) },
  },
  getHealth: {
    summary: "Whether the server can take jobs",
    description: "Never reads job data: judged from the data directory alone (free space, a writable store).",
    operationId: "getHealth",
    tags: ["server"],
    response: { 200: json(HealthJson, "the server can take jobs"), ...refusals(["UNHEALTHY"]) },
  },
  getMetrics: {
    summary: "Prometheus metrics",
    description: "The Prometheus text format (version 0.0.4): jobs by state, started, ended by outcome, start latency, running jobs per owner, output bytes, requests per route, refused handshakes, a full disk, and the process's own. For the server's admins (serve --admin); absent (404) when the server runs without metrics.",
    operationId: "getMetrics",
    tags: ["server"],
    response: {
      200: Type.Unsafe({ description: "the metrics", content: { "text/plain": { schema: { type: "string", description: "text/plain; version=0.0.4" } } } }),
      ...refusals(["ADMIN_REQUIRED"]),
    },
  },
  getOpenApi: {
    summary: "This document",
    operationId: "getOpenApi",
    tags: ["server"],
    response: {
      200: Type.Object({}, { additionalProperties: true, description: "the OpenAPI 3.1 document of this API (as docs/openapi.json)" }),
      ...refusals([]),
    },
  },
} as const satisfies Record<string, RouteDoc>;

/** The request body of `PUT /jobs/{id}/stdin`, for the document only (a stream is not validated). */
export const STDIN_BODY = Type.Unsafe({
  description: "the bytes for the job's stdin, passed through exactly; any content type",
  type: "string",
  format: "binary",
});
