import type { Command } from "commander";
import { addClientOptions, CLIENT_ENV_HELP, printJson, withClient, type ClientFlags } from "../client-options.js";
import { formatJobTable } from "../client-format.js";

/** `jobworker list`: your jobs, newest first, as an aligned table. */
export function registerListCommand(program: Command): void {
  const cmd = program
    .command("list")
    .summary("list your jobs")
    .description(
      "List the jobs of your identity (the CN of your client certificate), newest first:\n" +
        "ID, STATUS, EXIT (the exit code, with the signal if one killed it), AGE and COMMAND.",
    );
  addClientOptions(cmd).addHelpText(
    "after",
    `
Examples:
  jobworker list
  jobworker list --json | jq -r '.jobs[] | select(.status == "running") | .id'

Exit codes: 0 ok, 1 failure (server, certificates), 2 usage.
${CLIENT_ENV_HELP}`,
  );
  cmd.action(async (flags: ClientFlags) => {
    await withClient(flags, async (client) => {
      const jobs = await client.list();
      if (flags.json) printJson({ jobs });
      else process.stdout.write(formatJobTable(jobs));
    });
  });
}
