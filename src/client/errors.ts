/**
 * The client's single error class. Callers branch on `code` (stable), people read
 * `message` (names the server, file or job at fault) and `hint` (the likely fix).
 * `exitCode` is what the CLI exits with; src/cli/report-error.ts understands all three.
 */
export type ClientErrorCode =
  /** The job does not exist, or belongs to another identity (the server answers alike). */
  | "JOB_NOT_FOUND"
  /** The server refused the request as invalid (400, 413, 415). */
  | "BAD_REQUEST"
  /** A server-side limit was reached, e.g. running jobs per client (429). */
  | "LIMIT_REACHED"
  /** No connection could be made: refused, unknown host, timeout, not a TLS server. */
  | "SERVER_UNREACHABLE"
  /** The connection dropped after it was established (server stopped, network loss). */
  | "CONNECTION_LOST"
  /** The server refused our client certificate (TLS alert or close during the handshake, 401/403). */
  | "CERT_REJECTED"
  /** We do not trust the server's certificate: other CA, self-signed, wrong host name, expired. */
  | "SERVER_CERT_UNTRUSTED"
  /** Another TLS failure (e.g. no common protocol version). */
  | "TLS_FAILED"
  /** A CA, certificate or key file is missing or cannot be read. */
  | "CERT_FILE_UNREADABLE"
  /** A CA, certificate or key file was read but is not usable (not PEM, key does not match). */
  | "CERT_FILE_INVALID"
  /** The server URL is malformed or not https. */
  | "INVALID_SERVER_URL"
  /** The server failed (5xx) or answered something that is not the jobworker API. */
  | "SERVER_ERROR";

/** An error raised by {@link JobworkerClient} or the credential loader. */
export class ClientError extends Error {
  readonly code: ClientErrorCode;
  /** The likely fix, for people ("pass --ca with the server's CA certificate"). */
  readonly hint?: string;
  /** The process exit code the CLI uses for this error: 2 for usage problems, else 1. */
  readonly exitCode: number;
  /** The HTTP status, when the server answered. */
  readonly status?: number;

  constructor(
    code: ClientErrorCode,
    message: string,
    options: { hint?: string; status?: number; cause?: unknown; exitCode?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ClientError";
    this.code = code;
    this.exitCode = options.exitCode ?? (code === "INVALID_SERVER_URL" ? 2 : 1);
    if (options.hint !== undefined) this.hint = options.hint;
    if (options.status !== undefined) this.status = options.status;
  }
}

/** True when `err` is a {@link ClientError}, optionally of the given code. */
export function isClientError(err: unknown, code?: ClientErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code);
}
