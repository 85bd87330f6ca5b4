import type { Command } from "commander";
import { addClientOptions, CLIENT_ENV_HELP, withClient, type ClientFlags } from "../options/client.js";
import { printJson } from "../format/print.js";
import { summarizeStatus } from "../format/job.js";

/** `jobworker stop ID`: terminate a job, keep its record and output. */
export function registerStopCommand(program: Command): void {
  const cmd = program
    .command("stop")
    .summary("stop a running job")
    .description(
      "Terminate job ID's whole process tree (SIGTERM, then SIGKILL after a grace period)\n" +
        "and wait until it has ended. Its record and output are kept. Stopping a job that\n" +
        "has already ended does nothing. Prints the job's final status.",
    )
    .argument("<id>", "the job's id (from `start` or `list`)");
  addClientOptions(cmd).addHelpText(
    "after",
    `
Examples:
  jobworker stop 3f0c…             # completed (killed by SIGTERM, exit 143)
  jobworker stop --json 3f0c…      # the job's record, as GET /jobs/ID returns it

Exit codes: 0 stopped (or had already ended), 1 failure (no such job, server,
certificates), 2 usage.
${CLIENT_ENV_HELP}`,
  );
  cmd.action(async (id: string, flags: ClientFlags) => {
    await withClient(flags, async (client) => {
      await client.stop(id);
      const record = await client.get(id);
      if (flags.json) printJson(record);
      else process.stdout.write(`${summarizeStatus(record)}\n`);
    });
  });
}
