#!/usr/bin/env node
// The `jobworker` command: one program for the daemon, the certificate tool and the client.
import { Command, CommanderError } from "commander";
import { registerServeCommand } from "./serve.js";
import { registerCertsCommands } from "./certs.js";
import { registerClientCommands } from "./client-commands.js";
import { reportCliError } from "./report-error.js";

const program = new Command("jobworker")
  .description("Run Linux commands as jobs on a host, for clients authenticated by mutual TLS")
  .version("0.1.0")
  .showSuggestionAfterError(true)
  .exitOverride();

registerServeCommand(program);
registerCertsCommands(program);
registerClientCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version are "errors" to commander; usage errors exit 2 by our convention.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = reportCliError(err);
  }
}
