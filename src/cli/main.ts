#!/usr/bin/env node
// The `jobworker` command: one program for the daemon, the certificate tool and the client.
import { Command, CommanderError } from "commander";
import { registerServeCommand } from "./commands/serve.js";
import { registerCertsCommands } from "./commands/certs.js";
import { CLIENT_COMMANDS, registerClientCommands } from "./commands/client-commands.js";
import { registerContextCommands } from "./commands/context.js";
import { formatUsageErrors } from "./format/usage-error.js";
import { reportCliError } from "./report-error.js";
import { guardStdio } from "./stdio.js";

guardStdio();

const program = new Command("jobworker")
  .description("Run Linux commands as jobs on a host, for clients authenticated by mutual TLS")
  .version("0.1.0")
  .showSuggestionAfterError(true)
  .exitOverride();

// Only the command being run is built when the first word names one: building all of
// them (options, help texts) is a noticeable part of a client command's start-up. Help,
// version and unknown commands (which get suggestions) build everything.
const single: Readonly<Record<string, (program: Command) => void>> = { serve: registerServeCommand, certs: registerCertsCommands, context: registerContextCommands, ...CLIENT_COMMANDS };
const invoked = process.argv[2];
if (invoked !== undefined && Object.hasOwn(single, invoked)) {
  single[invoked]!(program);
} else {
  registerServeCommand(program);
  registerCertsCommands(program);
  registerContextCommands(program);
  registerClientCommands(program);
}
formatUsageErrors(program);
// A command run with --json reports its failure as JSON too.
let jsonErrors = false;
program.hook("preAction", (_program, action) => {
  jsonErrors = action.opts().json === true;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version are "errors" to commander (exit 0, or 141 if `| head` closed our
    // stdout: guardStdio set it); usage errors exit 2 by our convention.
    if (err.exitCode !== 0) process.exitCode = 2;
  } else {
    process.exitCode = reportCliError(err, { json: jsonErrors });
  }
}
