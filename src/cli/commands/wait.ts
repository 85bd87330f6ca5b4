import type { Command } from "commander";
import type { JobStatus, JobworkerClient } from "../../client/index.js";
import { addClientOptions, CLIENT_ENV_HELP, withClient, type ClientFlags } from "../options/client.js";
import { parseDuration } from "../options/duration.js";
import { printJson } from "../format/print.js";
import { summarizeStatus } from "../format/job.js";

/** Longest single long poll the server grants (`GET /jobs/<id>/status?wait=`), in seconds. */
const LONG_POLL_SECONDS = 300;

interface WaitFlags extends ClientFlags {
  timeout?: number;
}

/** `jobworker wait ID...`: blocks until every job has ended, with long polls (no client-side sleeping). */
export function registerWaitCommand(program: Command): void {
  const cmd = program
    .command("wait")
    .summary("wait until jobs have ended")
    .description("Block until each job ID has ended, then print each one's status, one line per job, in the order given.")
    .argument("<ids...>", "the jobs' ids")
    .option("--timeout <duration>", "give up waiting after this long, e.g. 30s, 5m (the jobs keep running)", parseDuration);
  addClientOptions(cmd).addHelpText(
    "after",
    `
Examples:
  ids=$(for h in a b c; do jobworker start -- ./build "$h"; done)
  jobworker wait $ids && echo "all built"

Exit codes: 0 every job completed with exit 0; 124 a job timed out (its --timeout), or
this wait's own --timeout ran out; 1 any other outcome (a non-zero exit, an error, no
such job, server, certificates); 2 usage.
${CLIENT_ENV_HELP}`,
  );
  cmd.action(async (ids: string[], flags: WaitFlags) => {
    await withClient(flags, async (client) => {
      const deadline = flags.timeout === undefined ? Infinity : Date.now() + flags.timeout;
      const statuses = await Promise.all(ids.map((id) => waitForEnd(client, id, deadline)));
      if (flags.json) printJson(ids.map((id, i) => ({ id, ...statuses[i] })));
      else process.stdout.write(ids.map((id, i) => `${id}: ${summarizeStatus(statuses[i]!)}\n`).join(""));
      process.exitCode = waitExitCode(statuses);
    });
  });
}

/** Long polls until the job has ended or `deadline` (ms since the epoch) has passed. */
async function waitForEnd(client: JobworkerClient, id: string, deadline: number): Promise<JobStatus> {
  for (;;) {
    const left = (deadline - Date.now()) / 1000;
    const status = await client.status(id, { waitSeconds: Math.max(0, Math.min(LONG_POLL_SECONDS, left)) });
    if ((status.status !== "running" && status.status !== "queued") || left <= 0) return status;
  }
}

/** 124 if a job timed out or is still running or queued (the wait's own timeout), else 0 if all exited 0, else 1. */
export function waitExitCode(statuses: readonly JobStatus[]): number {
  if (statuses.some((s) => s.timed_out || s.status === "running" || s.status === "queued")) return 124;
  return statuses.every((s) => s.status === "completed" && s.exit_code === 0) ? 0 : 1;
}
