import { UserError } from "../../user-error.js";

/** Stable codes of the client configuration's errors (docs/cli.md, "Contexts"). */
export type ConfigErrorCode =
  /** `<home>/config.json` is not JSON or not the shape jobworker writes. */
  | "CONFIG_INVALID"
  /** No context of that name in `<home>/config.json`. */
  | "CONTEXT_NOT_FOUND"
  /** `context add` of a name that exists, without --force. */
  | "CONTEXT_EXISTS"
  /** A context name that cannot be one (usage: exit 2). */
  | "CONTEXT_NAME_INVALID"
  /** A file given to `context add` is missing, unreadable or not what it should be. */
  | "CONTEXT_FILE_INVALID";

/** An error about contexts or `<home>/config.json`, read by people: message, hint, exit code. */
export class ConfigError extends UserError {
  declare readonly code: ConfigErrorCode;
  constructor(code: ConfigErrorCode, message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(code, message, { ...options, exitCode: options.exitCode ?? (code === "CONTEXT_NAME_INVALID" ? 2 : 1) });
  }
}
