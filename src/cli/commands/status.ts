import type { Command } from "commander";
import { addClientOptions, CLIENT_ENV_HELP, printJson, withClient, type ClientFlags } from "../client-options.js";
import { summarizeStatus } from "../client-format.js";

/** `jobworker status ID`: one line about a job. */
export function registerStatusCommand(program: Command): void {
  const cmd = program
    .command("status")
    .summary("show a job's status")
    .description(
      'Print the status of job ID in a few words: "running", "completed (exit 0)",\n' +
        '"completed (killed by SIGTERM, exit 143)" or "error: command not found: foo".',
    )
    .argument("<id>", "the job's id (from `start` or `list`)");
  addClientOptions(cmd).addHelpText(
    "after",
    `
Examples:
  jobworker status 3f0c…
  jobworker status --json 3f0c…    # {"status": "completed", "exit_code": 0}

Exit codes: 0 the status was shown (whatever the job's state), 1 failure (no such
job, server, certificates), 2 usage.
${CLIENT_ENV_HELP}`,
  );
  cmd.action(async (id: string, flags: ClientFlags) => {
    await withClient(flags, async (client) => {
      const status = await client.status(id);
      if (flags.json) printJson(status);
      else process.stdout.write(`${summarizeStatus(status)}\n`);
    });
  });
}
