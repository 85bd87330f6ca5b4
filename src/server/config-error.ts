import { UserError } from "../user-error.js";

/**
 * A startup or reload failure the operator can fix: one line naming what is wrong (the
 * file, the address) and, in `hint`, the likely fix. `reportCliError` prints both and
 * exits with `exitCode`: 2 when a flag is wrong (the default 1 otherwise).
 */
export class ServerConfigError extends UserError {
  constructor(message: string, hint?: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super("SERVER_CONFIG", message, { hint, ...options });
  }
}
