import type { Command } from "commander";
import { addClientOptions, CLIENT_ENV_HELP, withClient, type ClientFlags } from "../options/client.js";
import { printJson } from "../format/print.js";
import { copyJobOutput, drain, OutputClosedError } from "../job-output.js";
import { EXIT_SIGPIPE } from "../stdio.js";

/** `jobworker output ID [-f]`: a job's stdout and stderr, exact bytes. */
export function registerOutputCommand(program: Command): void {
  const cmd = program
    .command("output")
    .summary("print a job's output")
    .description(
      "Copy job ID's stdout to stdout and its stderr to stderr, byte for byte, from the\n" +
        "first byte. With -f, keep copying live until the job has ended.",
    )
    .argument("<id>", "the job's id (from `start` or `list`)")
    .option("-f, --follow", "keep streaming new output until the job ends");
  addClientOptions(cmd).addHelpText(
    "after",
    `
Examples:
  jobworker output 3f0c… > out.bin 2> err.txt
  jobworker output -f 3f0c…
  jobworker output --json 3f0c…    # {"stdout": "...", "stderr": "..."} as UTF-8 text
                                   # (with -f: printed once the job has ended)

Exit codes: 0 ok, 1 failure (no such job, server, certificates), 2 usage,
141 our stdout was closed (… | head).
${CLIENT_ENV_HELP}`,
  );
  cmd.action(async (id: string, flags: ClientFlags & { follow?: boolean }) => {
    await withClient(flags, async (client) => {
      if (flags.json) {
        // The JSON endpoint answers with what exists now; -f first waits for the end.
        if (flags.follow) await drain(await client.stream(id, "stdout", { follow: true }));
        printJson(await client.output(id));
        return;
      }
      try {
        await copyJobOutput(client, id, { follow: flags.follow === true });
      } catch (err) {
        if (!(err instanceof OutputClosedError)) throw err;
        process.exitCode = EXIT_SIGPIPE;
      }
    });
  });
}
