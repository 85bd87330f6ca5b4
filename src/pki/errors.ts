import { UserError } from "../user-error.js";

/**
 * Errors raised by the certificate library. Each has a stable `code` that callers (the
 * CLI, the server's startup) can branch on; messages are written for people and name
 * the file or value at fault. `hint`, when set, is the likely fix (the CLI prints it
 * in parentheses after the message).
 */
export type PkiErrorCode =
  /** A key or certificate already exists and `force` was not given. */
  | "PKI_EXISTS"
  /** A client name is not acceptable as a CN and a file name. */
  | "PKI_INVALID_NAME"
  /** A host is neither a DNS name nor an IP address. */
  | "PKI_INVALID_HOST"
  /** A validity (days, dates) is out of range. */
  | "PKI_INVALID_VALIDITY"
  /** The CA certificate or key is missing: run `certs init` first. */
  | "PKI_NO_CA"
  /** The CA files exist but are unusable (unparsable, not a CA, key does not match). */
  | "PKI_BAD_CA"
  /** A certificate to act on (e.g. the client certificate to revoke) is missing. */
  | "PKI_NOT_FOUND"
  /** A certificate to act on is unusable: unreadable, not issued by this CA, another name. */
  | "PKI_BAD_CERT"
  /** Reading or writing a file failed (permissions, missing directory, full disk…). */
  | "PKI_IO";

/** Codes that mean a mistake in the arguments: the CLI exits 2 (usage) for them. */
const USAGE_CODES: ReadonlySet<PkiErrorCode> = new Set(["PKI_INVALID_NAME", "PKI_INVALID_HOST", "PKI_INVALID_VALIDITY"]);

/**
 * The single error class of `src/pki`; branch on `code`, not on the message. `hint` is
 * the likely fix ("use --force to replace it"); `exitCode` is 2 for mistakes in the
 * arguments, else 1.
 */
export class PkiError extends UserError {
  declare readonly code: PkiErrorCode;
  /** The file concerned, when there is one. */
  readonly path?: string;

  constructor(
    code: PkiErrorCode,
    message: string,
    options: { hint?: string; path?: string; cause?: unknown } = {},
  ) {
    super(code, message, { hint: options.hint, cause: options.cause, exitCode: USAGE_CODES.has(code) ? 2 : 1 });
    if (options.path !== undefined) this.path = options.path;
  }
}

/**
 * Wraps a Node fs error into `PKI_IO` with a message naming the action and the file,
 * e.g. "cannot write /x/ca.key: permission denied".
 */
export function ioError(action: string, path: string, cause: unknown): PkiError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === "EACCES" || code === "EPERM"
      ? "permission denied"
      : code === "ENOENT"
        ? "no such file or directory"
        : code === "ENOTDIR"
          ? "a part of the path is not a directory"
          : code === "ENOSPC"
            ? "no space left on device"
            : code === "EROFS"
              ? "read-only file system"
              : code === "EISDIR"
                ? "it is a directory"
                : cause instanceof Error
                  ? cause.message
                  : String(cause);
  return new PkiError("PKI_IO", `cannot ${action} ${path}: ${reason}`, { path, cause });
}
