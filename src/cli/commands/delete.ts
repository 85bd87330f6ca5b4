import type { Command } from "commander";
import { addClientOptions, CLIENT_ENV_HELP, withClient, type ClientFlags } from "../options/client.js";
import { printJson } from "../format/print.js";

/** `jobworker delete ID`: stop if running, then remove record and output. */
export function registerDeleteCommand(program: Command): void {
  const cmd = program
    .command("delete")
    .summary("delete a job and its output")
    .description("Stop job ID if it is running, then remove its record and its output from the server.")
    .argument("<id>", "the job's id (from `start` or `list`)");
  addClientOptions(cmd).addHelpText(
    "after",
    `
Examples:
  jobworker delete 3f0c…
  jobworker delete --json 3f0c…    # {"id": "3f0c…", "deleted": true}

Prints nothing on success (the API answers with an empty body).
Exit codes: 0 deleted, 1 failure (no such job, server, certificates), 2 usage.
${CLIENT_ENV_HELP}`,
  );
  cmd.action(async (id: string, flags: ClientFlags) => {
    await withClient(flags, async (client) => {
      await client.delete(id);
      if (flags.json) printJson({ id, deleted: true });
    });
  });
}
