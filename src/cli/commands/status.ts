import type { Command } from "commander";
import { addClientOptions, CLIENT_ENV_HELP, withClient, type ClientFlags } from "../options/client.js";
import { printJson } from "../format/print.js";
import { summarizeStatus } from "../format/job.js";
import { formatUsage } from "../format/usage.js";

/** `jobworker status ID`: one line about a job. */
export function registerStatusCommand(program: Command): void {
  const cmd = program
    .command("status")
    .summary("show a job's status")
    .description(
      'Print the status of job ID in a few words: "queued (position 2)", "running",\n' +
        '"completed (exit 0)", "completed (killed by SIGTERM, exit 143)" or\n' +
        '"error: command not found: foo"; then, once it has started, what it used:\n' +
        '"usage: cpu 1.234s user, 0.050s system; memory peak 80.4 MiB; io 0 B read, 12.0 KiB written".',
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
      if (flags.json) return printJson(await client.status(id));
      // The record, not just the status: it also says whether output was cut short.
      const record = await client.get(id);
      process.stdout.write(`${summarizeStatus(record)}${record.truncated ? "; output truncated" : ""}\n`);
      // What it used, so far or in all, once it has started.
      if (record.usage) process.stdout.write(`usage: ${formatUsage(record.usage)}\n`);
    });
  });
}
