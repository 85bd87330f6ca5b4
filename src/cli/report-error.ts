/**
 * Turns any error into one line on stderr (never a stack trace) and returns the exit
 * code to use. Errors that carry a `hint` get it appended: the likely fix.
 */
export function reportCliError(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  const hint = (err as { hint?: unknown })?.hint;
  process.stderr.write(`jobworker: ${message}${typeof hint === "string" && hint ? ` (${hint})` : ""}\n`);
  const exitCode = (err as { exitCode?: unknown })?.exitCode;
  return typeof exitCode === "number" ? exitCode : 1;
}
