// The one flow of `jobworker run`, on one target or on several (`run --on`): start the
// job on each target's server, follow its output until it has ended, read its final
// record. What differs between one target and several (where the output goes, what is
// printed at the end, the exit code) is the caller's RunPresentation.
import type { Readable, Writable } from "node:stream";
import type { JobRecord, JobSpec, JobworkerClient, StreamName } from "../../client/index.js";
import { jobOutputText, type StreamedText } from "../format/json-stream.js";
import { copyJobOutput, drain, OutputClosedError } from "../job-output.js";
import { openClientWith } from "../options/client.js";
import { mapBounded } from "../fan-out/bounded.js";
import type { Target } from "../fan-out/targets.js";
import { RunControl, RunningJob } from "./run-control.js";

/** What became of the job on one target. */
export interface HostResult {
  name: string;
  url: string;
  /** The job's id, once the server created it. */
  id?: string;
  /** The job's final record, when it was read. */
  record?: JobRecord;
  /** Its output as text, for `--json`: read from the server as the document is printed. */
  output?: { stdout: StreamedText; stderr: StreamedText };
  /** Why this target has no final record (unreachable, refused, connection lost…). */
  error?: unknown;
  /** Not started: Ctrl-C (or a closed stdout) came first. */
  skipped?: boolean;
}

/** Where a job's output goes while it runs: our stdout and stderr unless told otherwise. */
export interface OutputSinks {
  stdout?: Writable;
  stderr?: Writable;
  /** Turns each stream's bytes into what is written (`run --on` prefixes its lines). */
  map?: (name: StreamName, src: Readable) => Readable;
}

/** How a run shows its jobs: everything in which one target and several differ. */
export interface RunPresentation {
  /** Targets worked on at once. */
  parallel: number;
  /** `--json`: no live output; each job's output is read into one document at the end. */
  json: boolean;
  /** Fed to the job as its stdin (`run -i`, one target only: one stdin cannot feed several jobs). */
  stdin?: Readable;
  /** `target`'s job waits for a slot on its server, at `position` among its owner's: say so (on stderr). */
  queued(target: Target, position: number): void;
  /** Where the output of `target`'s job goes while it runs (not asked with `json`). */
  sinks(target: Target): OutputSinks;
  /**
   * A sink of `target` failed (our stdout closed, a disk full); its job is being stopped.
   * Returns whether to read the job's final record all the same; throws to make the
   * target fail with that error.
   */
  outputClosed(target: Target, err: OutputClosedError, control: RunControl): boolean;
  /** Read the final records after Ctrl-C too (`run --on` sums up every host; `run` just exits 128+n). */
  recordWhenInterrupted: boolean;
  /**
   * The final record of `target`'s job has just been read, once per job, `--json` or not:
   * the one place to say how it ended (`run`'s timeout or out-of-memory line).
   */
  ended?(target: Target, record: JobRecord): void;
  /** Every job's run is over, whatever happened (`--output-dir` closes its files). */
  settled?(): Promise<void>;
  /** Prints what the run ends with (the `--json` document, a summary) and gives the exit code. */
  finish(results: HostResult[], control: RunControl): Promise<number>;
}

/** Runs `spec` on every target as `how` presents it; resolves to the exit code. */
export async function runJobs(targets: readonly Target[], spec: JobSpec, how: RunPresentation): Promise<number> {
  const control = new RunControl();
  /** Clients kept open for `--json`, which reads each job's output as it prints it. */
  const printing: JobworkerClient[] = [];
  const runOn = (target: Target) => runOnTarget(target, spec, how, control, printing);
  control.listen();
  let results: HostResult[];
  try {
    results = await mapBounded(targets, how.parallel, runOn, {
      when: () => control.ending,
      result: (t) => ({ name: t.name, url: t.settings.url, skipped: true }),
    });
  } finally {
    control.unlisten();
    await how.settled?.();
  }
  try {
    return await how.finish(results, control);
  } finally {
    await Promise.all(printing.map((client) => client.destroy().catch(() => {})));
  }
}

/** The job on one target, from its creation to its final record; never rejects. */
async function runOnTarget(target: Target, spec: JobSpec, how: RunPresentation, control: RunControl, printing: JobworkerClient[]): Promise<HostResult> {
  const result: HostResult = { name: target.name, url: target.settings.url };
  let client: JobworkerClient | undefined;
  let job: RunningJob | undefined;
  try {
    client = await openClientWith(target.settings);
    // Ctrl-C while connecting: nothing is started that would only be stopped at once.
    if (control.ending) {
      result.skipped = true;
      return result;
    }
    const { id, queuePosition } = await client.submit(spec);
    result.id = id;
    if (queuePosition !== undefined) how.queued(target, queuePosition);
    job = new RunningJob(client, id);
    control.add(job);
    // -i: our stdin is forwarded live, alongside the output. A job that stops reading
    // (or ends) refuses the rest; that is its business, not an error of ours.
    const stdin = how.stdin;
    if (stdin) void client.sendStdin(id, stdin).catch(() => stdin.destroy());
    const readRecord = await followToEnd(target, job, how, control);
    // Stopping makes the follow streams end once the job is gone; its record is final
    // only once the stop has been answered.
    await job.stopped();
    if (!readRecord || (control.interrupted && !how.recordWhenInterrupted)) return result;
    const record = await client.get(id);
    result.record = record;
    how.ended?.(target, record);
    if (how.json) {
      result.output = jobOutputText(client, id);
      printing.push(client);
    }
  } catch (err) {
    result.error = err;
  } finally {
    if (job) control.remove(job);
    if (!result.output) await client?.destroy().catch(() => {});
  }
  return result;
}

/**
 * Waits, without polling, until the job has ended: by copying its output live, or with
 * `--json` by reading its stdout to the end. This is the whole of "while the job waits
 * or runs" for every target, one or several: anything to watch or say meanwhile goes
 * here. Resolves to whether to read its final record (not when our output went away
 * and the presentation says the run ends there).
 */
async function followToEnd(target: Target, job: RunningJob, how: RunPresentation, control: RunControl): Promise<boolean> {
  if (how.json) {
    await drain(await job.client.stream(job.id, "stdout", { follow: true }));
    return true;
  }
  try {
    await copyJobOutput(job.client, job.id, { follow: true, ...how.sinks(target) });
    return true;
  } catch (err) {
    if (!(err instanceof OutputClosedError)) throw err;
    void job.stop();
    try {
      return how.outputClosed(target, err, control);
    } finally {
      // Whatever the presentation decides, the job is stopped before the target ends.
      await job.stopped();
    }
  }
}
