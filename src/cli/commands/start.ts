import type { Command } from "commander";
import { addClientOptions, CLIENT_ENV_HELP, withClient, type ClientFlags } from "../options/client.js";
import { printJson } from "../format/print.js";
import { addJobArguments, jobSpecOf, type JobSpecFlags } from "../options/job-spec.js";

/** `jobworker start [--] CMD [ARGS...]`: starts a job and prints its id, nothing else. */
export function registerStartCommand(program: Command): void {
  const cmd = program
    .command("start")
    .summary("start a job and print its id")
    .description(
      "Start CMD with ARGS as a job on the server and print the job's id, nothing else,\n" +
        "so that `id=$(jobworker start -- make -j4)` works. Returns at once; a command\n" +
        "that cannot start still gets an id (see `jobworker status ID`).",
    );
  addJobArguments(addClientOptions(cmd));
  cmd.addHelpText(
    "after",
    `
Examples:
  jobworker start -- sleep 60
  id=$(jobworker start -- sh -c 'make 2>&1')
  jobworker start --json -- ls -la       # {"id": "..."}

Exit codes: 0 started, 1 failure (server, certificates, refused), 2 usage.
${CLIENT_ENV_HELP}`,
  );
  cmd.action(async (command: string, args: string[], flags: ClientFlags & JobSpecFlags) => {
    await withClient(flags, async (client) => {
      const id = await client.create(jobSpecOf(command, args, flags));
      // -i: our stdin goes up first; the id is printed once the server has it all.
      if (flags.stdin) {
        try {
          await client.sendStdin(id, process.stdin);
        } catch (err) {
          // The job exists whatever became of the upload: say which one it is.
          process.stderr.write(`jobworker: job ${id} was started, but its stdin was not fully sent\n`);
          throw err;
        }
      }
      if (flags.json) printJson({ id });
      else process.stdout.write(`${id}\n`);
    });
  });
}
