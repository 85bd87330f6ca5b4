// `jobworker run --on web1,web2 -- CMD`: the same job on each context's server at once,
// output prefixed per host (or written to DIR/<context>.stdout|stderr), one summary line
// per host, exit 0 only if every host's job exited 0. docs/cli.md, "Fan-out". The run
// itself is `run`'s own (../run/run-jobs.ts); this file is how several hosts are shown.
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Readable, type Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { JobSpec } from "../../client/index.js";
import { UserError } from "../../user-error.js";
import { readFailure } from "../../client/credentials.js";
import { exitCodeOf } from "../commands/run.js";
import { formatHostResult, hostResultJson } from "../format/fan-out.js";
import { printJsonStreamed } from "../format/json-stream.js";
import { OutputClosedError } from "../job-output.js";
import { EXIT_SIGPIPE } from "../stdio.js";
import { runJobs, type RunPresentation } from "../run/run-jobs.js";
import { queuedLine, statsLine } from "../format/usage.js";
import { prefixLines } from "./prefix-lines.js";
import type { Target } from "./targets.js";

/** How `run --on` delivers output and how many hosts it works on at once. */
export interface FanOutRunOptions {
  parallel: number;
  /** Write DIR/<context>.stdout and .stderr, byte-exact, instead of prefixed lines. */
  outputDir?: string;
  /** Print one JSON document at the end instead of streaming. */
  json?: boolean;
  /** `--stats`: each host's job's usage on stderr when it has ended. */
  stats?: boolean;
}

/** Runs `spec` on every target; resolves to the exit code (docs/cli.md, "Fan-out"). */
export async function runOnContexts(targets: readonly Target[], spec: JobSpec, options: FanOutRunOptions): Promise<number> {
  // Created and truncated before any job starts: a directory we cannot write to is found
  // while nothing runs anywhere.
  const files = options.outputDir === undefined ? undefined : await openOutputFiles(options.outputDir, targets);
  const severalHosts: RunPresentation = {
    parallel: options.parallel,
    json: options.json ?? false,
    sinks: (target) => files?.get(target.name) ?? { map: (_stream, src) => Readable.from(prefixLines(src, `${target.name}: `)) },
    queued: (target, position) => void process.stderr.write(`jobworker: ${target.name}: ${queuedLine(position)}\n`),
    ...(options.stats && { ended: (target, record) => void process.stderr.write(`jobworker: ${target.name}: ${statsLine(record)}\n`) }),
    outputClosed: (_target, err, control) => {
      // This host's file could not be written (disk full…): its job is stopped, say why.
      if (files) throw new UserError("OUTPUT_FILE_FAILED", `cannot write its output to ${options.outputDir}: ${readFailure(err.cause)}`);
      // Our own stdout went away: stop every job, as `run` does for one; the summary
      // (on stderr) still says how each ended.
      control.closeOutput();
      return true;
    },
    recordWhenInterrupted: true,
    ...(files && { settled: () => closeOutputFiles(files) }),
    finish: async (results, control) => {
      if (options.json) {
        try {
          await printJsonStreamed({ hosts: results.map(hostResultJson) });
        } catch (err) {
          if (!(err instanceof OutputClosedError)) throw err;
          control.outputClosed = true;
        }
      } else for (const r of results) process.stderr.write(`jobworker: ${formatHostResult(r)}\n`);
      if (control.interrupted) return control.interruptedExitCode!;
      if (control.outputClosed) return EXIT_SIGPIPE;
      return results.every((r) => r.record !== undefined && exitCodeOf(r.record) === 0) ? 0 : 1;
    },
  };
  return runJobs(targets, spec, severalHosts);
}
interface OutputFiles {
  stdout: Writable;
  stderr: Writable;
}

/** The output files of `--output-dir`, two per host; exported for its test. */
export async function openOutputFiles(dir: string, targets: readonly Target[]): Promise<Map<string, OutputFiles>> {
  const files = new Map<string, OutputFiles>();
  try {
    // The directory itself, not its parents: Node 20's recursive mkdir never returns for
    // some paths it cannot create (under /proc), and a typo should not grow a tree.
    await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw new UserError("OUTPUT_FILE_FAILED", `cannot create the output directory ${dir}: ${readFailure(err)}`, { hint: "give --output-dir a directory whose parent exists and that you can write to", cause: err });
    });
    for (const { name } of targets) {
      const opened = await Promise.allSettled(["stdout", "stderr"].map((stream) => open(join(dir, `${name}.${stream}`), "w")));
      const failed = opened.findIndex((result) => result.status === "rejected");
      if (failed >= 0) {
        // The other of the two may have opened: it is no one's yet, so close it here.
        await Promise.all(opened.map((result) => (result.status === "fulfilled" ? result.value.close() : undefined)));
        const path = join(dir, `${name}.${failed === 0 ? "stdout" : "stderr"}`);
        const err = (opened[failed] as PromiseRejectedResult).reason;
        throw new UserError("OUTPUT_FILE_FAILED", `cannot write ${path}: ${readFailure(err)}`, { hint: "give --output-dir a directory you can write to", cause: err });
      }
      const [stdout, stderr] = opened.map((result) => (result as PromiseFulfilledResult<FileHandle>).value.createWriteStream());
      files.set(name, { stdout: stdout!, stderr: stderr! });
    }
  } catch (err) {
    await closeOutputFiles(files);
    throw err;
  }
  return files;
}

async function closeOutputFiles(files: Map<string, OutputFiles>): Promise<void> {
  const streams = [...files.values()].flatMap((f) => [f.stdout, f.stderr]);
  await Promise.all(streams.map((s) => finished(s.end()).catch(() => {})));
}
