import type { Command } from "commander";
import type { JobRecord } from "../../client/index.js";
import { ClientError } from "../../client/errors.js";
import { addClientOptions, CLIENT_ENV_HELP, resolveClientSettings, type ClientFlags } from "../options/client.js";
import { printJsonStreamed } from "../format/json-stream.js";
import { OutputClosedError } from "../job-output.js";
import { EXIT_SIGPIPE } from "../stdio.js";
import { addJobArguments, jobSpecOf, type JobSpecFlags } from "../options/job-spec.js";
import { addFanOutOptions, checkFanOutFlags, type FanOutFlags } from "../options/fan-out.js";
import { fanOutUsage } from "../fan-out/targets.js";
import { runJobs, type RunPresentation } from "../run/run-jobs.js";
import { queuedLine, statsLine } from "../format/usage.js";

/** `run`'s own flags, beside the job's and the client's. */
interface RunFlags {
  stats?: boolean;
}

/** `jobworker run [--] CMD [ARGS...]`: start, stream output live, exit with the job's code. */
export function registerRunCommand(program: Command): void {
  const cmd = program
    .command("run")
    .summary("run a job, stream its output, exit with its exit code")
    .description(
      "Start CMD with ARGS as a job on the server, copy its stdout to stdout and its\n" +
        "stderr to stderr live and byte for byte, and exit with the job's exit code.\n" +
        "Ctrl-C (SIGINT) or SIGTERM stops the job on the server first.",
    );
  addJobArguments(addFanOutOptions(addClientOptions(cmd), { outputDir: true }));
  cmd.addHelpText(
    "after",
    `
Examples:
  jobworker run -- uname -a
  jobworker run -- sh -c 'echo out; echo err >&2; exit 3'; echo $?    # 3
  jobworker run ls -la /tmp          # words after CMD go to the job, even --json

On several hosts at once (contexts, see \`jobworker context --help\`):
  jobworker run --on web1,web2 -- uptime          # "web1: …" lines, then one line per host
  jobworker run --on all --output-dir out -- make test   # out/web1.stdout, out/web1.stderr, …
It exits 0 only if the job exited 0 on every host; Ctrl-C stops it on every host.

With --json the output is not streamed live: when the job has ended, one JSON object
is printed: the job's record (GET /jobs/ID) plus its "stdout" and "stderr" as text,
written as it is read from the server (memory does not grow with the output).

Exit codes:
  the job's exit code   when it completed (128+n when killed by signal n)
  124                   the job reached its --timeout and was stopped
  127                   the command was not found on the server
  126                   the command could not be executed (permission denied, …)
  130                   interrupted by Ctrl-C (the job was stopped)
  141                   our stdout was closed (… | head); the job was stopped
  1                     failure: server unreachable, certificates, refused, lost
  2                     usage
${CLIENT_ENV_HELP}`,
  );
  cmd.option("--stats", "when the job has ended, print what it used on stderr (CPU, memory peak, io), as systemd-run --wait does");
  cmd.action(async (command: string, args: string[], flags: ClientFlags & JobSpecFlags & FanOutFlags & RunFlags) => {
    const targets = checkFanOutFlags(flags, cmd);
    if (targets) {
      if (flags.stdin) throw fanOutUsage("--stdin cannot be used with --on: one stdin cannot feed several jobs", "run");
      if (flags.json && flags.outputDir !== undefined) throw fanOutUsage("--json and --output-dir exclude each other", "run");
      const { runOnContexts } = await import("../fan-out/run-on.js");
      const options = { parallel: flags.parallel, json: flags.json, stats: flags.stats === true, ...(flags.outputDir !== undefined && { outputDir: flags.outputDir }) };
      process.exitCode = await runOnContexts(targets, jobSpecOf(command, args, flags), options);
      return;
    }
    // One target is the same run as `--on` with one host; only how it is shown differs.
    const settings = resolveClientSettings(flags);
    const target = { name: settings.context ?? "", settings };
    process.exitCode = await runJobs([target], jobSpecOf(command, args, flags), oneTarget(flags));
  });
}

/**
 * The exit code for a job that ended: its own, or 126/127 the way a shell reports exec
 * failures, read from the record's `error_code` (never from the wording of `error_msg`).
 */
export function exitCodeOf(record: Pick<JobRecord, "status" | "exit_code" | "error_code" | "timed_out">): number {
  // As timeout(1) does: whatever the job's own exit code was.
  if (record.timed_out) return 124;
  if (record.status === "completed") return record.exit_code ?? 1;
  if (record.status === "error") {
    if (record.error_code === "COMMAND_NOT_FOUND") return 127;
    if (record.error_code === "PERMISSION_DENIED" || record.error_code === "NOT_EXECUTABLE") return 126;
    return 1;
  }
  return 1;
}

/** "1s", "90s", "1500ms": a duration as the user would have typed it. */
function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * `run` on one server: the job's output as it is (no prefix), stdin allowed (`-i`), a
 * line on stderr when the job did not simply exit, and the job's own exit code.
 */
function oneTarget(flags: ClientFlags & JobSpecFlags & RunFlags): RunPresentation {
  const json = flags.json ?? false;
  return {
    parallel: 1,
    json,
    ...(flags.stdin && { stdin: process.stdin }),
    sinks: () => ({}),
    queued: (_target, position) => void process.stderr.write(`jobworker: ${queuedLine(position)}\n`),
    outputClosed: (_target, _err, control) => {
      // Our reader went away: do what a local pipeline does, stop the writer, and end
      // there; there is nowhere left to report how the job ended.
      control.closeOutput();
      return false;
    },
    recordWhenInterrupted: false,
    ended: (_target, record) => {
      const line = json ? undefined : endLine(record, flags.timeout);
      if (line !== undefined) process.stderr.write(`jobworker: ${line}\n`);
      if (flags.stats) process.stderr.write(`jobworker: ${statsLine(record)}\n`);
    },
    finish: async ([result], control) => {
      const { id, record, output, error } = result!;
      if (error !== undefined) throw namingJob(error, id);
      if (control.outputClosed) return EXIT_SIGPIPE;
      // No record and no error: Ctrl-C (or SIGTERM) came first, and the job was stopped.
      if (!record) return control.interruptedExitCode ?? 1;
      if (json) {
        try {
          await printJsonStreamed({ ...record, ...output });
        } catch (err) {
          if (err instanceof OutputClosedError) return EXIT_SIGPIPE;
          throw namingJob(err, id);
        }
      }
      return exitCodeOf(record);
    },
  };
}

/** What `run` says on stderr about a job that ended other than by exiting on its own. */
function endLine(record: JobRecord, timeout: number | undefined): string | undefined {
  if (record.status === "error") return record.error_msg ?? "the job could not start";
  if (record.oom_killed) return "out of memory: the job exceeded its memory limit and was killed";
  if (record.timed_out) {
    const limit = timeout !== undefined ? `its --timeout of ${formatMs(timeout)}` : "the server's default timeout";
    return `timed out: the job reached ${limit} and was stopped`;
  }
  // Follow streams end only when the job has ended; reaching this means the server
  // closed them early. Say so rather than invent an exit code (exitCodeOf gives 1).
  if (record.status === "running") return `the output ended but job ${record.id} is still running`;
  return undefined;
}

/**
 * The job may outlive this command (a lost connection, a revoked certificate): a client
 * error, once the job exists, names it so that it can be found again.
 */
function namingJob(err: unknown, id: string | undefined): unknown {
  return id !== undefined && err instanceof ClientError ? withJobId(err, id) : err;
}

/** `err` with a hint naming job `id` and how to look at it afterwards. */
function withJobId(err: ClientError, id: string): ClientError {
  const hint = `${err.hint ? `${err.hint}; ` : ""}job ${id} may still be running: \`jobworker status ${id}\``;
  return new ClientError(err.code, err.message, {
    hint,
    exitCode: err.exitCode,
    cause: err,
    ...(err.status !== undefined && { status: err.status }),
    ...(err.serverCode !== undefined && { serverCode: err.serverCode }),
  });
}
