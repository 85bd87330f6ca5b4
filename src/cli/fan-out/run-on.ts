// `jobworker run --on web1,web2 -- CMD`: the same job on each context's server at once,
// output prefixed per host (or written to DIR/<context>.stdout|stderr), one summary line
// per host, exit 0 only if every host's job exited 0. docs/cli.md, "Fan-out".
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { constants } from "node:os";
import { Readable, type Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { JobRecord, JobSpec, JobworkerClient } from "../../client/index.js";
import { UserError } from "../../user-error.js";
import { readFailure } from "../../client/credentials.js";
import { exitCodeOf } from "../commands/run.js";
import { formatHostResult, hostResultJson } from "../format/fan-out.js";
import { jobOutputText, printJsonStreamed, type StreamedText } from "../format/json-stream.js";
import { copyJobOutput, drain, OutputClosedError } from "../job-output.js";
import { openClientWith } from "../options/client.js";
import { EXIT_SIGPIPE } from "../stdio.js";
import { mapBounded } from "./bounded.js";
import { prefixLines } from "./prefix-lines.js";
import type { Target } from "./targets.js";

/** What became of the job on one host. */
export interface HostResult {
  name: string;
  url: string;
  /** The job's id, once the server created it. */
  id?: string;
  /** The job's final record, when it was read. */
  record?: JobRecord;
  /** Its output as text, for `--json`: read from the server as the document is printed. */
  output?: { stdout: StreamedText; stderr: StreamedText };
  /** Why this host has no final record (unreachable, refused, connection lost…). */
  error?: unknown;
  /** Not started: Ctrl-C (or a closed stdout) came first. */
  skipped?: boolean;
}

/** How `run --on` delivers output and how many hosts it works on at once. */
export interface FanOutRunOptions {
  parallel: number;
  /** Write DIR/<context>.stdout and .stderr, byte-exact, instead of prefixed lines. */
  outputDir?: string;
  /** Print one JSON document at the end instead of streaming. */
  json?: boolean;
}

/** A job started on one host: stopping it on Ctrl-C goes through here, once. */
interface Started {
  client: JobworkerClient;
  id: string;
  stopping?: Promise<unknown>;
}

/** Runs `spec` on every target; resolves to the exit code (docs/cli.md, "Fan-out"). */
export async function runOnContexts(targets: readonly Target[], spec: JobSpec, options: FanOutRunOptions): Promise<number> {
  // Created and truncated before any job starts: a directory we cannot write to is found
  // while nothing runs anywhere.
  const files = options.outputDir === undefined ? undefined : await openOutputFiles(options.outputDir, targets);
  let interrupted: NodeJS.Signals | undefined;
  let outputClosed = false;
  const started = new Set<Started>();
  /** Clients kept open for `--json`, which reads each host's output as it prints it. */
  const printing: JobworkerClient[] = [];
  const stop = (job: Started) => (job.stopping ??= job.client.stop(job.id).catch(() => {}));
  const stopAll = () => started.forEach(stop);
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(128 + constants.signals[signal]); // second Ctrl-C: give up now
    interrupted = signal;
    stopAll();
  };

  const runOnHost = async (target: Target): Promise<HostResult> => {
    const result: HostResult = { name: target.name, url: target.settings.url };
    let client: JobworkerClient | undefined;
    let job: Started | undefined;
    try {
      client = await openClientWith(target.settings);
      const id = await client.create(spec);
      result.id = id;
      job = { client, id };
      started.add(job);
      if (interrupted || outputClosed) stop(job);
      if (options.json) {
        await drain(await client.stream(id, "stdout", { follow: true }));
      } else {
        try {
          await copyJobOutput(client, id, {
            follow: true,
            ...(files
              ? { stdout: files.get(target.name)!.stdout, stderr: files.get(target.name)!.stderr }
              : { map: (_stream, src) => Readable.from(prefixLines(src, `${target.name}: `)) }),
          });
        } catch (err) {
          if (!(err instanceof OutputClosedError)) throw err;
          if (files) {
            // This host's file could not be written (disk full…): stop its job, say why.
            await stop(job);
            throw new UserError("OUTPUT_FILE_FAILED", `cannot write its output to ${options.outputDir}: ${readFailure(err.cause)}`);
          }
          // Our own stdout went away: stop every job, as `run` does for one.
          outputClosed = true;
          stopAll();
        }
      }
      await job.stopping;
      result.record = await client.get(id);
      if (options.json) {
        result.output = jobOutputText(client, id);
        printing.push(client);
      }
    } catch (err) {
      result.error = err;
    } finally {
      if (job) started.delete(job);
      if (!result.output) await client?.destroy().catch(() => {});
    }
    return result;
  };

  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let results: HostResult[];
  try {
    results = await mapBounded(targets, options.parallel, runOnHost, {
      when: () => interrupted !== undefined || outputClosed,
      result: (t) => ({ name: t.name, url: t.settings.url, skipped: true }),
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (files) await closeOutputFiles(files);
  }

  if (options.json) {
    try {
      await printJsonStreamed({ hosts: results.map(hostResultJson) });
    } catch (err) {
      if (!(err instanceof OutputClosedError)) throw err;
      outputClosed = true;
    } finally {
      await Promise.all(printing.map((client) => client.destroy().catch(() => {})));
    }
  } else for (const r of results) process.stderr.write(`jobworker: ${formatHostResult(r)}\n`);
  if (interrupted) return 128 + constants.signals[interrupted];
  if (outputClosed) return EXIT_SIGPIPE;
  return results.every((r) => r.record !== undefined && exitCodeOf(r.record) === 0) ? 0 : 1;
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
