import type { Command } from "commander";
import { CLIENT_ENV_HELP } from "../options/client.js";
import { registerStartCommand } from "./start.js";
import { registerRunCommand } from "./run.js";
import { registerStatusCommand } from "./status.js";
import { registerOutputCommand } from "./output.js";
import { registerStopCommand } from "./stop.js";
import { registerKillCommand } from "./kill.js";
import { registerDeleteCommand } from "./delete.js";
import { registerListCommand } from "./list.js";
import { registerWaitCommand } from "./wait.js";

/** The client commands, by name: each talks to a server over mutual TLS. */
export const CLIENT_COMMANDS: Readonly<Record<string, (program: Command) => void>> = {
  start: registerStartCommand,
  run: registerRunCommand,
  status: registerStatusCommand,
  output: registerOutputCommand,
  stop: registerStopCommand,
  kill: registerKillCommand,
  delete: registerDeleteCommand,
  list: registerListCommand,
  wait: registerWaitCommand,
};

/**
 * Registers the client commands: start, run, status, output, stop, kill, delete, list, and
 * their summary in the program's help. `jobworker COMMAND --help` describes each one.
 */
export function registerClientCommands(program: Command): void {
  for (const register of Object.values(CLIENT_COMMANDS)) register(program);
  program.addHelpText(
    "after",
    `
Client commands (start, run, status, output, stop, kill, delete, list, wait) accept
  --context NAME --server URL --ca FILE --cert FILE --key FILE --home DIR --json
${CLIENT_ENV_HELP}

Exit codes: 0 ok, 1 failure, 2 usage; \`run\` exits with the job's exit code (124 if
it timed out); \`wait\` exits 0 if every job exited 0, 124 on a timeout, else 1.
Errors are one line on stderr naming the likely fix.`,
  );
}
