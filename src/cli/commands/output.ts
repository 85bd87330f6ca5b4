import { InvalidArgumentError, type Command } from "commander";
import type { JobworkerClient } from "../../client/index.js";
import { parseSince, SINCE_DESCRIPTION } from "../../protocol/since.js";
import { addClientOptions, CLIENT_ENV_HELP, withClient, type ClientFlags } from "../options/client.js";
import { printJsonStreamed, StreamedText } from "../format/json-stream.js";
import { copyJobLog, copyJobOutput, OutputClosedError } from "../job-output.js";
import { parseNonNegativeInt } from "../options/numbers.js";
import { EXIT_SIGPIPE } from "../stdio.js";

interface OutputFlags extends ClientFlags {
  follow?: boolean;
  tail?: number;
  since?: string;
  timestamps?: boolean;
}

/** `jobworker output ID [-f] [--tail N] [--since D] [-t]`: a job's stdout and stderr. */
export function registerOutputCommand(program: Command): void {
  const cmd = program
    .command("output")
    .summary("print a job's output")
    .description(
      "Copy job ID's stdout to stdout and its stderr to stderr, byte for byte, from the\n" +
        "first byte. With -f, keep copying live until the job has ended.\n" +
        "With --tail, --since or -t, both streams come in the order the server captured\n" +
        "them (one request, GET /jobs/ID/log), still each to its own descriptor.",
    )
    .argument("<id>", "the job's id (from `start` or `list`)")
    .option("-f, --follow", "keep streaming new output until the job ends")
    .option("--tail <n>", "start at the last N lines of the two streams together (0: only new output)", parseNonNegativeInt)
    .option("--since <time>", `only output captured since TIME: ${SINCE_DESCRIPTION}`, checkSince)
    .option("-t, --timestamps", "prefix each line with its capture time (RFC 3339, milliseconds, UTC) and a space");
  addClientOptions(cmd).addHelpText(
    "after",
    `
Examples:
  jobworker output 3f0c… > out.bin 2> err.txt
  jobworker output -f --tail 100 3f0c…      # the last 100 lines, then live
  jobworker output --since 10m -t 3f0c…     # the last ten minutes, with times
  jobworker output --json 3f0c…    # {"stdout": "...", "stderr": "..."} as UTF-8 text,
                                   # written as it is read (with -f: until the job ends)

Times are when the server saw each append, to within tens of milliseconds; the order
across stdout and stderr is that order, not a true one (two pipes have none).

Exit codes: 0 ok, 1 failure (no such job, server, certificates), 2 usage,
141 our stdout was closed (… | head).
${CLIENT_ENV_HELP}`,
  );
  cmd.action(async (id: string, flags: OutputFlags) => {
    await withClient(flags, async (client) => {
      try {
        await printOutput(client, id, flags);
      } catch (err) {
        if (!(err instanceof OutputClosedError)) throw err;
        process.exitCode = EXIT_SIGPIPE;
      }
    });
  });
}

async function printOutput(client: JobworkerClient, id: string, flags: OutputFlags): Promise<void> {
  const follow = flags.follow === true;
  const seek = { ...(flags.tail !== undefined && { tail: flags.tail }), ...(flags.since !== undefined && { since: flags.since }) };
  const timestamps = flags.timestamps === true;
  if (flags.json) {
    // stdout first, followed to the job's end with -f; then stderr, complete by then.
    const text = (name: "stdout" | "stderr", live: boolean) => new StreamedText(() => client.stream(id, name, { ...seek, timestamps, follow: live }));
    await printJsonStreamed({ stdout: text("stdout", follow), stderr: text("stderr", false) });
  } else if (flags.tail !== undefined || flags.since !== undefined || timestamps) {
    await copyJobLog(client, id, { ...seek, follow, timestamps });
  } else {
    await copyJobOutput(client, id, { follow });
  }
}

/** `--since` is checked here, so that a typo is a usage error before anything is asked. */
function checkSince(value: string): string {
  if (parseSince(value) === undefined) throw new InvalidArgumentError(`expected ${SINCE_DESCRIPTION}`);
  return value;
}
