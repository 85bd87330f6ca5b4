import { UserError } from "../user-error.js";

/**
 * Turns any error into one line on stderr (never a stack trace) and returns the exit
 * code to use. A {@link UserError} says all: its message, its hint (the likely fix) in
 * parentheses, its exit code. Anything else is a bug or an unexpected failure: its
 * message alone, exit 1. With `json` (the command's --json), the line is a JSON object
 * in the API's error shape, `{"error", "code"}`, with `hint`, the server's `server_code`
 * and the HTTP `status` when known: a program reading --json output reads failures too.
 */
export function reportCliError(err: unknown, { json = false }: { json?: boolean } = {}): number {
  const known = err instanceof UserError ? err : undefined;
  const message = known ? known.message : err instanceof Error ? err.message : String(err);
  if (json) {
    const { serverCode, status } = (known ?? {}) as { serverCode?: string; status?: number };
    const body = {
      error: message,
      code: known?.code ?? "UNEXPECTED",
      ...(known?.hint !== undefined && { hint: known.hint }),
      ...(serverCode !== undefined && { server_code: serverCode }),
      ...(status !== undefined && { status }),
    };
    process.stderr.write(`${JSON.stringify(body)}\n`);
  } else {
    process.stderr.write(`jobworker: ${message}${known?.hint ? ` (${known.hint})` : ""}\n`);
  }
  return known?.exitCode ?? 1;
}
