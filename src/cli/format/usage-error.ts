// Commander's usage errors ("error: unknown option '--port'\n(Did you mean --cert?)")
// rewritten the way every other jobworker error reads: one line on stderr, prefixed
// "jobworker:", with the fix in parentheses. The fix always names the command's --help.
import type { Command } from "commander";

/**
 * Options people reach for that a command spells differently, and what to use instead.
 * They are checked before commander's own edit-distance suggestion, which for `--port`
 * proposes `--cert`.
 */
const SPELLED_DIFFERENTLY: Record<string, Record<string, string>> = {
  serve: {
    "--port": "use --listen PORT for 127.0.0.1:PORT, or --listen HOST:PORT",
    "-p": "use --listen PORT for 127.0.0.1:PORT, or --listen HOST:PORT",
    "--host": "use --listen HOST:PORT",
    "--bind": "use --listen HOST:PORT",
    "--address": "use --listen HOST:PORT",
  },
};

/** "jobworker certs issue": the words that name `command` on the command line. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * One line for a commander error message `text` raised by `command`: "jobworker: <what>
 * (did you mean …? see `jobworker serve --help`)".
 */
export function formatUsageError(text: string, command: Command): string {
  const lines = text.trim().split("\n").map((l) => l.trim()).filter((l) => l !== "");
  let message = (lines[0] ?? "usage error").replace(/^error: /, "");
  // commander: "(Did you mean status?)" on a line of its own.
  const suggestion = lines.slice(1).join(" ").replace(/^\(Did you mean (.*)\?\)$/, "did you mean $1?");
  const unknown = /^unknown option '([^']+)'/.exec(message);
  const instead = unknown ? SPELLED_DIFFERENTLY[command.name()]?.[unknown[1]!] : undefined;
  // "option '--limit <n>' argument '0' is invalid. expected a whole number…": one sentence.
  message = message.replace(/ is invalid\. /, " is invalid: ");
  // `run -la`: an option before CMD is ours; the job's go after CMD, or after --.
  const takesCommand = command.registeredArguments.some((arg) => arg.name() === "cmd");
  const forTheJob = unknown && takesCommand && !instead ? `if ${unknown[1]} is for the job, put -- before CMD: ${commandPath(command)} -- CMD ${unknown[1]}` : undefined;
  const fix = instead ?? ([suggestion, forTheJob].filter(Boolean).join(" ") || undefined);
  return `jobworker: ${message} (${fix ? `${fix}${fix.endsWith("?") ? " " : "; "}` : ""}see \`${commandPath(command)} --help\`)\n`;
}

/**
 * Routes the usage errors of `program` and every command under it through
 * {@link formatUsageError}. Call once every command is registered.
 */
export function formatUsageErrors(program: Command): void {
  const visit = (command: Command) => {
    command.configureOutput({ outputError: (text, write) => write(formatUsageError(text, command)) });
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
}
