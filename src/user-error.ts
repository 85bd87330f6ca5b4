/**
 * The base class of every error a person may read: the client's, the certificate
 * library's, the server's start-up refusals. Like execa's `ExecaError`, it carries all a
 * front end needs, so the CLI's `reportCliError` prints `message (hint)` and exits with
 * `exitCode` without guessing:
 * - `code`: stable, for programs to branch on;
 * - `hint`: the likely fix, for people ("pass --ca with the server's CA certificate");
 * - `exitCode`: what the CLI exits with, 2 for usage mistakes, else 1.
 *
 * A leaf module, kept out of the CLI's bundle (scripts/bundle-cli.mjs) so that there is one
 * copy of the class and `instanceof` holds across the bundle and the modules it loads.
 */
export class UserError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: number;

  constructor(code: string, message: string, options: { hint?: string | undefined; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}
