#!/usr/bin/env node
// The `jobworker` command: one program for the daemon, the certificate tool and the client.
import { Command, CommanderError } from "commander";
import { registerServeCommand } from "./commands/serve.js";
import { registerCertsCommands } from "./commands/certs.js";
import { registerClientCommands } from "./commands/client-commands.js";
import { formatUsageErrors } from "./format/usage-error.js";
import { reportCliError } from "./report-error.js";
import { guardStdio } from "./stdio.js";

guardStdio();

const program = new Command("jobworker")
  .description("Run Linux commands as jobs on a host, for clients authenticated by mutual TLS")
  .version("0.1.0")
  .showSuggestionAfterError(true)
  .exitOverride();

registerServeCommand(program);
registerCertsCommands(program);
registerClientCommands(program);
formatUsageErrors(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version are "errors" to commander (exit 0, or 141 if `| head` closed our
    // stdout: guardStdio set it); usage errors exit 2 by our convention.
    if (err.exitCode !== 0) process.exitCode = 2;
  } else {
    process.exitCode = reportCliError(err);
  }
}
