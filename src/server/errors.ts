import type { ErrorCode } from "../protocol/error-codes.js";

/**
 * The one table of every refusal the HTTP API can give, in the spirit of fastify's
 * `lib/errors.js`: for each stable code of the protocol (src/protocol/error-codes.ts), its
 * HTTP status and the message a client reads when nothing more precise is said.
 *
 * Every error a request can meet (ours, the engine's, fastify's) is mapped to one of
 * these codes by `toHttpError`, so the answer's shape is always
 * `{"error": "...", "code": "..."}` (or, where the API contract says so, an empty body)
 * and never a stack trace. test/server/error-table.test.ts pins it against docs/api.md
 * and the client's mapping.
 */
export const ERRORS = {
  NOT_FOUND: { status: 404, message: "not found" },
  METHOD_NOT_ALLOWED: { status: 405, message: "method not allowed" },
  /** Unknown id, malformed id and another identity's job: one answer for all three. */
  JOB_NOT_FOUND: { status: 404, message: "job not found" },
  INVALID_JSON: { status: 400, message: "the request body is not valid JSON" },
  EMPTY_BODY: { status: 400, message: "the request body is empty: send a JSON object" },
  INVALID_REQUEST: { status: 400, message: "the request is not valid" },
  INVALID_JOB_SPEC: { status: 400, message: "the job is not valid" },
  INVALID_ARGUMENT: { status: 400, message: "an argument is not valid" },
  /** A limit above the operator's maximum (`serve --max-…`). */
  LIMIT_ABOVE_MAXIMUM: { status: 400, message: "a resource limit is above this server's maximum" },
  /** The job's stdin cannot be written: no `"stdin": true`, ended, or another writer has it. */
  STDIN_NOT_AVAILABLE: { status: 409, message: "the job's stdin cannot be written" },
  /** A signal for a job that has ended: nothing runs to receive it. */
  JOB_NOT_RUNNING: { status: 409, message: "the job is not running" },
  /** A `timeout_ms` above the operator's maximum (`serve --max-timeout`). */
  TIMEOUT_ABOVE_MAXIMUM: { status: 400, message: "the timeout is above this server's maximum" },
  /** `limits.cpus` above the host's CPU count (as `docker run --cpus` refuses it). */
  LIMIT_ABOVE_HOST: { status: 400, message: "a resource limit is above what this host has" },
  /** A limit this host cannot enforce (no cgroup access, no such controller): never ignored. */
  LIMIT_NOT_ENFORCEABLE: { status: 400, message: "this server cannot enforce that resource limit" },
  /** A job asked for isolation (`network: "none"`) this host cannot give: never ignored. */
  ISOLATION_NOT_AVAILABLE: { status: 400, message: "this server cannot isolate jobs that way" },
  /** Node's HTTP parser refused the request's headers as too large. */
  HEADERS_TOO_LARGE: { status: 431, message: "the request headers are too large" },
  /** The request did not arrive in full in time. */
  REQUEST_TIMEOUT: { status: 408, message: "the request took too long to arrive" },
  BAD_URL: { status: 400, message: "the request URL is not valid" },
  BAD_CONTENT_LENGTH: { status: 400, message: "the request body does not match its content-length" },
  CLIENT_CERT_REQUIRED: { status: 403, message: "a valid client certificate is required" },
  /** A request only the server's admins (`serve --admin`) may make, e.g. `GET /jobs?owner=*`. */
  ADMIN_REQUIRED: { status: 403, message: "only the server's admins may do this" },
  BODY_TOO_LARGE: { status: 413, message: "the request body is too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "the request body must be JSON: send content-type: application/json" },
  /** A body compressed (gzip…) or otherwise encoded: the server reads only plain JSON. */
  UNSUPPORTED_CONTENT_ENCODING: { status: 415, message: "the request body must not be encoded: send it without content-encoding" },
  TOO_MANY_RUNNING_JOBS: { status: 429, message: "too many running jobs for this client" },
  INTERNAL: { status: 500, message: "internal server error" },
  SHUTTING_DOWN: { status: 503, message: "the server is shutting down" },
  STORAGE_FULL: { status: 507, message: "the server has no room left for job output" },
  /** `GET /healthz` while the data disk is full or the job store is not writable; the message says which. */
  UNHEALTHY: { status: 503, message: "the server cannot take jobs" },
} as const satisfies Record<ErrorCode, { status: number; message: string }>;

/** A code of {@link ERRORS}: the protocol's {@link ErrorCode}. */
export type HttpErrorCode = ErrorCode;
