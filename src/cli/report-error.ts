import { UserError } from "../user-error.js";

/**
 * Turns any error into one line on stderr (never a stack trace) and returns the exit
 * code to use. A {@link UserError} says all: its message, its hint (the likely fix) in
 * parentheses, its exit code. Anything else is a bug or an unexpected failure: its
 * message alone, exit 1.
 */
export function reportCliError(err: unknown): number {
  if (err instanceof UserError) {
    process.stderr.write(`jobworker: ${err.message}${err.hint ? ` (${err.hint})` : ""}\n`);
    return err.exitCode;
  }
  process.stderr.write(`jobworker: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
