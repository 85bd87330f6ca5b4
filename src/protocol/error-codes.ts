/**
 * The stable codes of the API's error bodies, `{"error": "<sentence>", "code": "<CODE>"}`
 * (docs/api.md, "Errors"). Programs branch on the code; people read the sentence, which
 * may change. The server's table (src/server/errors.ts) gives each its HTTP status; the
 * client's (src/client/http-errors.ts) maps each to what the user sees. Both are typed
 * `Record<ErrorCode, …>`, so a code added here must be added there too.
 *
 * A leaf module of plain constants: the CLI loads it without TypeBox.
 */
export const ERROR_CODES = [
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "JOB_NOT_FOUND",
  "INVALID_JSON",
  "EMPTY_BODY",
  "INVALID_REQUEST",
  "INVALID_JOB_SPEC",
  "INVALID_ARGUMENT",
  "LIMIT_ABOVE_MAXIMUM",
  "TIMEOUT_ABOVE_MAXIMUM",
  "STDIN_NOT_AVAILABLE",
  "JOB_NOT_RUNNING",
  "LIMIT_ABOVE_HOST",
  "LIMIT_NOT_ENFORCEABLE",
  "ISOLATION_NOT_AVAILABLE",
  "BAD_URL",
  "BAD_CONTENT_LENGTH",
  "CLIENT_CERT_REQUIRED",
  "ADMIN_REQUIRED",
  "BODY_TOO_LARGE",
  "HEADERS_TOO_LARGE",
  "REQUEST_TIMEOUT",
  "UNSUPPORTED_MEDIA_TYPE",
  "UNSUPPORTED_CONTENT_ENCODING",
  "TOO_MANY_RUNNING_JOBS",
  "INTERNAL",
  "SHUTTING_DOWN",
  "STORAGE_FULL",
  "UNHEALTHY",
] as const;

/** A code of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** True when `value` is one of the {@link ERROR_CODES}. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/**
 * Why a job is in state `error`: the `error_code` of its record, next to the sentence
 * in `error_msg`. Set by the engine; `jobworker run` exits 127 for COMMAND_NOT_FOUND and
 * 126 for PERMISSION_DENIED and NOT_EXECUTABLE, as a shell does.
 */
export const JOB_ERROR_CODES = [
  /**
   * No such program (a path that does not exist, or a name on no PATH entry). Under
   * `serve --run-as` also a program the job's user may not execute: the server does
   * not tell what that user cannot see.
   */
  "COMMAND_NOT_FOUND",
  /** The program exists but may not be executed (no x bit, a directory). */
  "PERMISSION_DENIED",
  /** The kernel cannot execute the file (ENOEXEC: not a binary nor a `#!` script). */
  "NOT_EXECUTABLE",
  /** The working directory does not exist (or, under `--run-as`, is not usable). */
  "CWD_NOT_FOUND",
  /** The working directory is not a directory. */
  "CWD_NOT_A_DIRECTORY",
  /** The host ran out of something to start a process with (EAGAIN, EMFILE, ENOMEM, E2BIG). */
  "RESOURCES_EXHAUSTED",
  /** The server's disk is full. */
  "STORAGE_FULL",
  /** The job could not be placed in its cgroup. */
  "CGROUP_FAILED",
  /** The job's namespaces could not be set up (the isolation helper failed before exec). */
  "ISOLATION_FAILED",
  /** Another failure to start; `error_msg` says more. */
  "START_FAILED",
  /** The job wrote more than the server's output cap and was stopped. */
  "OUTPUT_LIMIT",
  /** The server shut down while the job ran. */
  "SHUTDOWN",
  /** The server stopped (crashed) while the job ran; found at restart. */
  "INTERRUPTED",
  /** Stopped or deleted while it waited in the queue: it never ran. */
  "CANCELLED",
] as const;

/** A code of {@link JOB_ERROR_CODES}. */
export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];
