/**
 * A startup or reload failure the operator can fix: one line naming what is wrong (the
 * file, the address) and, in `hint`, the likely fix. `reportCliError` prints both.
 */
export class ServerConfigError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ServerConfigError";
    this.hint = hint;
  }
}
