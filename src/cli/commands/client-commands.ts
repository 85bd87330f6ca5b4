import type { Command } from "commander";
import { CLIENT_ENV_HELP } from "../options/client.js";
import { registerStartCommand } from "./start.js";
import { registerRunCommand } from "./run.js";
import { registerStatusCommand } from "./status.js";
import { registerOutputCommand } from "./output.js";
import { registerStopCommand } from "./stop.js";
import { registerDeleteCommand } from "./delete.js";
import { registerListCommand } from "./list.js";

/**
 * Registers the client commands: start, run, status, output, stop, delete, list. Each
 * talks to a server over mutual TLS; `jobworker COMMAND --help` describes its options.
 */
export function registerClientCommands(program: Command): void {
  registerStartCommand(program);
  registerRunCommand(program);
  registerStatusCommand(program);
  registerOutputCommand(program);
  registerStopCommand(program);
  registerDeleteCommand(program);
  registerListCommand(program);
  program.addHelpText(
    "after",
    `
Client commands (start, run, status, output, stop, delete, list) accept
  --server URL --ca FILE --cert FILE --key FILE --home DIR --json
${CLIENT_ENV_HELP}

Exit codes: 0 ok, 1 failure, 2 usage; \`run\` exits with the job's exit code.
Errors are one line on stderr naming the likely fix.`,
  );
}
