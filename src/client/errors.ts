import type { ErrorCode } from "../protocol/error-codes.js";
import { UserError } from "../user-error.js";

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
  /** The request is for the server's admins only (403 ADMIN_REQUIRED): this identity is not one. */
  | "NOT_ADMIN"
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
  | "SERVER_ERROR"
  /** The server is shutting down (503 SHUTTING_DOWN): try again once it is back. */
  | "SERVER_UNAVAILABLE"
  /** The server's disk is full (507 STORAGE_FULL): no new job until space is freed. */
  | "SERVER_STORAGE_FULL";

/**
 * An error raised by {@link JobworkerClient} or the credential loader. `exitCode` (of
 * {@link UserError}) is 2 for usage problems (a malformed server URL), else 1.
 */
export class ClientError extends UserError {
  declare readonly code: ClientErrorCode;
  /** The HTTP status, when the server answered. */
  readonly status?: number;
  /** The server's own error code (docs/api.md, "Errors"), when it answered with one. */
  readonly serverCode?: ErrorCode;

  constructor(
    code: ClientErrorCode,
    message: string,
    options: { hint?: string; status?: number; serverCode?: ErrorCode; cause?: unknown; exitCode?: number } = {},
  ) {
    super(code, message, { hint: options.hint, cause: options.cause, exitCode: options.exitCode ?? (code === "INVALID_SERVER_URL" ? 2 : 1) });
    if (options.status !== undefined) this.status = options.status;
    if (options.serverCode !== undefined) this.serverCode = options.serverCode;
  }
}

/** True when `err` is a {@link ClientError}, optionally of the given code. */
export function isClientError(err: unknown, code?: ClientErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code);
}
