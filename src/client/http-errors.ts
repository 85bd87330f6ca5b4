import { isErrorCode, type ErrorCode } from "../protocol/error-codes.js";
import { ClientError, type ClientErrorCode } from "./errors.js";

/** What the client makes of one of the server's error codes. */
interface CodeMapping {
  /** The client's code: what kind of failure it is for the caller. */
  code: ClientErrorCode;
  /** The message, from the server's sentence and the request's context. */
  message: (said: string, context: { url: string; jobId: string | undefined }) => string;
  hint?: string;
}

const refused = (said: string) => `the server refused the request: ${said}`;
const unknownRequest: CodeMapping = {
  code: "SERVER_ERROR",
  message: (said, { url }) => `the server at ${url} does not know this request (${said})`,
  hint: "is --server the address of `jobworker serve`?",
};

/**
 * The client's reading of every error code of the protocol (src/protocol/error-codes.ts):
 * `Record<ErrorCode, …>`, so a code added there must be given a meaning here.
 * test/server/error-table.test.ts pins it against the server's table and docs/api.md.
 */
export const CODE_MAPPINGS: Record<ErrorCode, CodeMapping> = {
  NOT_FOUND: unknownRequest,
  METHOD_NOT_ALLOWED: unknownRequest,
  JOB_NOT_FOUND: {
    code: "JOB_NOT_FOUND",
    message: (_said, { jobId }) => (jobId === undefined ? "no such job" : `no such job: ${jobId}`),
    hint: "it does not exist or belongs to another identity; `jobworker list` shows yours",
  },
  INVALID_JSON: { code: "BAD_REQUEST", message: refused },
  EMPTY_BODY: { code: "BAD_REQUEST", message: refused },
  INVALID_REQUEST: { code: "BAD_REQUEST", message: refused },
  INVALID_JOB_SPEC: { code: "BAD_REQUEST", message: refused },
  INVALID_ARGUMENT: { code: "BAD_REQUEST", message: refused },
  STDIN_NOT_AVAILABLE: { code: "BAD_REQUEST", message: refused, hint: "start the job with -i (\"stdin\": true); one writer at a time, while it runs" },
  JOB_NOT_RUNNING: { code: "BAD_REQUEST", message: refused, hint: "`jobworker status ID` says how it ended" },
  TIMEOUT_ABOVE_MAXIMUM: { code: "BAD_REQUEST", message: refused, hint: "ask for a shorter --timeout; the server's operator sets the maximum (serve --max-timeout)" },
  LIMIT_ABOVE_MAXIMUM: { code: "BAD_REQUEST", message: refused, hint: "ask for less; the server's operator sets the maxima (serve --max-…)" },
  LIMIT_ABOVE_HOST: { code: "BAD_REQUEST", message: refused, hint: "ask for at most what the server's host has" },
  LIMIT_NOT_ENFORCEABLE: { code: "BAD_REQUEST", message: refused, hint: "run the job without that limit, or on a server where cgroups are available" },
  ISOLATION_NOT_AVAILABLE: { code: "BAD_REQUEST", message: refused, hint: "run the job without --network none, or on a server that isolates jobs" },
  BAD_URL: { code: "BAD_REQUEST", message: refused },
  BAD_CONTENT_LENGTH: { code: "BAD_REQUEST", message: refused },
  BODY_TOO_LARGE: { code: "BAD_REQUEST", message: refused },
  HEADERS_TOO_LARGE: { code: "BAD_REQUEST", message: refused },
  REQUEST_TIMEOUT: { code: "CONNECTION_LOST", message: (said, { url }) => `the server at ${url} gave up waiting for the request: ${said}`, hint: "check the network between here and the server" },
  UNSUPPORTED_MEDIA_TYPE: { code: "BAD_REQUEST", message: refused },
  UNSUPPORTED_CONTENT_ENCODING: { code: "BAD_REQUEST", message: refused },
  CLIENT_CERT_REQUIRED: {
    code: "CERT_REJECTED",
    message: (said, { url }) => `the server at ${url} refused this client: ${said}`,
    hint: "use a certificate issued by the server's CA, pass it with --cert/--key",
  },
  ADMIN_REQUIRED: {
    code: "NOT_ADMIN",
    message: (said, { url }) => `the server at ${url} refused: ${said}`,
    hint: "only identities the server's operator names with serve --admin may do this; without --owner/--all-owners, list shows your own jobs",
  },
  TOO_MANY_RUNNING_JOBS: {
    code: "LIMIT_REACHED",
    message: (said) => `limit reached: ${said}`,
    hint: "wait for some of your jobs to end, or stop some (`jobworker list`, `jobworker stop ID`)",
  },
  INTERNAL: { code: "SERVER_ERROR", message: (said) => `the server failed: ${said}`, hint: "the server's log says more" },
  SHUTTING_DOWN: { code: "SERVER_UNAVAILABLE", message: (said, { url }) => `the server at ${url} is not taking requests: ${said}`, hint: "try again once it is back" },
  STORAGE_FULL: {
    code: "SERVER_STORAGE_FULL",
    message: (said) => `the server's disk is full: ${said}`,
    hint: "free space on the server's data disk, or delete finished jobs (`jobworker delete ID`)",
  },
  UNHEALTHY: { code: "SERVER_UNAVAILABLE", message: (said, { url }) => `the server at ${url} cannot take jobs: ${said}`, hint: "the server's operator must free its data disk or fix its permissions" },
};

/**
 * Maps a non-2xx answer of the API to a {@link ClientError}, by the body's `code`
 * (never by status or wording). `body` is the response text (`{"error", "code"}`, or
 * empty for the 404 of status/output); `jobId` names the job in the "not found" message.
 */
export function httpError(status: number, body: string, url: string, jobId?: string): ClientError {
  const parsed = errorBodyOf(body);
  if (parsed) {
    const mapping = CODE_MAPPINGS[parsed.code];
    return new ClientError(mapping.code, mapping.message(parsed.error, { url, jobId }), {
      status,
      serverCode: parsed.code,
      ...(mapping.hint !== undefined && { hint: mapping.hint }),
    });
  }
  // The one answer without a body: 404 of GET /jobs/<id>/status and /output.
  if (status === 404 && jobId !== undefined && body === "") {
    const mapping = CODE_MAPPINGS.JOB_NOT_FOUND;
    return new ClientError(mapping.code, mapping.message("", { url, jobId }), { status, serverCode: "JOB_NOT_FOUND", hint: mapping.hint! });
  }
  return new ClientError("SERVER_ERROR", `the server at ${url} answered HTTP ${status} without a jobworker error`, {
    hint: "is --server the address of `jobworker serve`, with no proxy in between?",
    status,
  });
}

/** The `{"error", "code"}` of an error body, if it is one. */
function errorBodyOf(body: string): { error: string; code: ErrorCode } | undefined {
  if (!body) return undefined;
  try {
    const parsed = JSON.parse(body) as { error?: unknown; code?: unknown };
    return typeof parsed?.error === "string" && isErrorCode(parsed.code) ? { error: parsed.error, code: parsed.code } : undefined;
  } catch {
    return undefined;
  }
}
