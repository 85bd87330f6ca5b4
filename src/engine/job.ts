import { resolve } from "node:path";
import { explainSpawnFailure, visibleToAnyone, type StartFailure } from "./explain-spawn-failure.js";
import type { OutputFiles } from "./output-files.js";
import { OutputNotifier } from "./output-notifier.js";
import { OutputTimes, type TimesView } from "./output-times.js";
import { bootId } from "./process-identity.js";
import type { JobCgroup } from "./cgroups/job-cgroup.js";
import type { Writable } from "node:stream";
import type { LaunchAnswer } from "./start/launcher.js";
import type { JobProcess } from "./start/job-process.js";
import { explainStepFailure } from "./start/explain-step.js";
import { finishJob, type JobEnd } from "./job-finish.js";
import { stdinOnceStarted } from "./stdin-once-started.js";
import { terminateJob } from "./job-terminate.js";
import type { StoredJob } from "./job-store.js";
import type { JobConfinement } from "./confinement/job-confinement.js";
import type { ValidJobSpec } from "./job-spec.js";
import type { JobIsolation, JobLimits, JobRecord, JobStatus, JobUsage } from "./types.js";
import { combineUsage, runningLeaderUsage } from "./job-usage.js";

/** A cancelled job's record says why it never ran. */
export const CANCELLED_MESSAGE = "cancelled while queued: it never ran";

function deadlineFrom(timeoutMs: number | undefined): number | undefined {
  return timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
}

/** What a job needs from its pool. */
export interface JobLaunch {
  id: string;
  /** When it was submitted (ms since the epoch): now, unless a queued job is taken up again after a restart. */
  createdAt?: number;
  spec: ValidJobSpec;
  cwd: string;
  env: Record<string, string>;
  files: OutputFiles;
  /** Per-stream output cap in bytes (Infinity for none). */
  maxOutputBytes: number;
  /** Called with the final record before anyone can see the job ended (the pool persists it). */
  recordEnd: (record: JobRecord, from?: "running" | "queued") => void;
  /** Called once the launcher has started the job's process (the pool records its pid). */
  recordStarted: (process: { pid: number; pidStart: string | undefined; bootId: string; startedAt: number }) => void;
  /** Whether the data directory's disk is (nearly) full: output may then have been cut short. */
  diskFull: () => boolean;
  /** The limits that apply. */
  limits: JobLimits;
  /** Who the job runs as and under what, planned at `create` (confinement/job-confinement.ts). */
  confinement: JobConfinement;
  /** How long the job may run, counted from its start (not from its submission). */
  timeoutMs?: number;
  /** It waits for a slot (state "queued") until the pool's queue calls `begin`. */
  queued?: boolean;
  /** Called when a queued job leaves the queue to start (the pool records it running). */
  recordBegun?: (deadlineAt: number | undefined) => void;
  /** What confined the job, as its record shows it (fixed at launch). */
  isolation?: JobIsolation;
}

/** Why the job was asked to stop, when it was not its owner's request. */
export type StopReason = "output-limit" | "shutdown" | "timeout";

/**
 * A job's phase, carrying what that phase has (pueue's TaskStatus is the model):
 * - queued: its record exists (state "queued"); it waits for a slot (pool/job-queue.ts);
 * - starting: its record exists and it counts as running; the launcher is making its process;
 * - running: its process runs;
 * - ending: its leader was reaped; its cgroup is being emptied and its end recorded;
 * - ended: its end is recorded (or it never started).
 */
type Phase =
  | { kind: "queued" }
  | { kind: "starting" }
  | { kind: "running"; process: JobProcess; cgroup: JobCgroup | undefined }
  | { kind: "ending"; cgroup: JobCgroup | undefined }
  | { kind: "ended" };

/**
 * One job of the pool: its record, its phase, and the supervision of its process tree.
 * Start is the pool's (start/start-job.ts), termination job-terminate.ts, the end
 * job-finish.ts; this class holds the state they share and its transitions.
 */
export class Job {
  readonly id: string;
  readonly spec: ValidJobSpec;
  readonly cwd: string;
  readonly files: OutputFiles;
  readonly notifier: OutputNotifier;
  /** When each append was seen (output-times.ts); sampled before followers are woken. */
  readonly times: OutputTimes;
  readonly maxOutputBytes: number;
  readonly limits: JobLimits;
  readonly createdAt: number;
  readonly launch: JobLaunch;
  private phase: Phase;
  private status: JobStatus;
  private endedAt: number | undefined;
  /** When its process was started (the launcher's answer); none while queued or if it never ran. */
  private startedAt: number | undefined;
  /** When the pool stops it for its timeout: fixed when it leaves the queue. */
  private deadlineAt: number | undefined;
  private truncated = false;
  private pidInfo: { pid: number; pidStart: string | undefined } | undefined;
  private finalSizes: { stdout: number; stderr: number } | undefined;
  private readonly ended: Promise<void>;
  private markEnded!: () => void;
  private readonly startSettled: Promise<void>;
  private markStartSettled!: () => void;
  private termination: Promise<void> | undefined;
  /** The first reason a stop was asked for, other than its owner's request. */
  stopReason: StopReason | undefined;
  private limitCheckPending = false;
  private stdinTaken = false;
  /** Final once the job has ended; while it runs, read live (`currentUsage`). */
  private usage: JobUsage | undefined;

  constructor(launch: JobLaunch) {
    this.launch = launch;
    this.id = launch.id;
    this.createdAt = launch.createdAt ?? Date.now();
    this.spec = launch.spec;
    this.cwd = launch.cwd;
    this.files = launch.files;
    this.maxOutputBytes = launch.maxOutputBytes;
    this.limits = launch.limits;
    this.times = new OutputTimes(launch.files.timesPath());
    this.notifier = new OutputNotifier(() => this.scheduleLimitCheck());
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    this.startSettled = new Promise((resolve) => (this.markStartSettled = resolve));
    this.phase = launch.queued ? { kind: "queued" } : { kind: "starting" };
    this.status = { state: launch.queued ? "queued" : "running" };
    if (!launch.queued) this.deadlineAt = deadlineFrom(launch.timeoutMs);
  }

  get isQueued(): boolean {
    return this.phase.kind === "queued";
  }

  /** Leaves the queue: it counts as running from now, and its timeout starts counting. */
  begin(): void {
    if (this.phase.kind !== "queued") return;
    this.deadlineAt = deadlineFrom(this.launch.timeoutMs);
    this.launch.recordBegun?.(this.deadlineAt);
    this.phase = { kind: "starting" };
    this.status = { state: "running" };
  }

  /**
   * A queued job taken out of the queue (`stop`, `delete`): it never runs, and its record
   * says so. The pool has removed it from the queue first.
   */
  cancel(): void {
    if (this.phase.kind !== "queued") return;
    const status: JobStatus = { state: "error", errorMsg: CANCELLED_MESSAGE, errorCode: "CANCELLED" };
    this.endUnstarted(status, () => this.launch.recordEnd({ ...this.toRecord(), ...status }, "queued"));
  }

  /**
   * The pool closes with the job still queued: it stays queued on disk, to start after
   * the next open; here it is let go, and anyone waiting on it is released.
   */
  abandon(): void {
    if (this.phase.kind === "queued") this.endNow();
  }

  private endNow(): void {
    this.phase = { kind: "ended" };
    this.times.close();
    this.notifier.end();
    this.markStartSettled();
    this.markEnded();
  }

  /** The job never ran, for a reason found before anything was made: its end is now. */
  refuse(failure: StartFailure): void {
    this.endUnstarted({ state: "error", errorMsg: failure.message, errorCode: failure.code });
  }

  /** The end of a job whose process never existed: nothing written, `record` (if any) persisted first. */
  private endUnstarted(status: JobStatus, record?: () => void): void {
    this.endedAt = Date.now();
    this.finalSizes = { stdout: 0, stderr: 0 };
    try {
      record?.();
    } finally {
      this.status = status;
      this.endNow();
    }
  }

  /** The launcher's answer: the job's process (watched from now on), or the step that failed. */
  adopt(answer: LaunchAnswer, cgroup: JobCgroup | undefined): void {
    if (this.phase.kind !== "starting") return;
    if ("failure" in answer) {
      this.phase = { kind: "ending", cgroup };
      void this.finish({ failure: explainStepFailure(answer.failure, this) });
    } else {
      const process = answer.process;
      this.phase = { kind: "running", process, cgroup };
      this.pidInfo = { pid: process.pid, pidStart: process.pidStart };
      this.startedAt = Date.now();
      this.launch.recordStarted({ ...this.pidInfo, bootId: bootId(), startedAt: this.startedAt });
      void process.exited.then((exit) => {
        this.phase = { kind: "ending", cgroup };
        return this.finish({ exit, pgid: process.pid });
      });
    }
    this.markStartSettled();
  }

  /** Cleans up after the leader's end and records the end; never fails (see job-finish.ts). */
  private async finish(end: JobEnd): Promise<void> {
    const cgroup = this.phase.kind === "ending" ? this.phase.cgroup : undefined;
    const { status, truncated, usage } = await finishJob(this, end, cgroup);
    if (truncated) this.truncated = true;
    this.usage = usage;
    this.endedAt = Date.now();
    this.finalSizes = { stdout: this.files.size("stdout"), stderr: this.files.size("stderr") };
    try {
      // Persist first: nobody may see an end that a crash could take back.
      this.launch.recordEnd({ ...this.toRecord(), ...status });
    } finally {
      this.status = status;
      this.phase = { kind: "ended" };
      this.times.sample([this.finalSizes.stdout, this.finalSizes.stderr]);
      this.times.close();
      this.notifier.end();
      this.markEnded();
    }
  }

  /**
   * The output watcher heard of writes (or may have missed some): the index takes the
   * new sizes first, then followers are woken, only if anything grew.
   */
  outputChanged(): void {
    // A queued job has no output yet: with thousands waiting, the watcher's sweep of every
    // live job must not stat their files.
    if (this.phase.kind === "queued") return;
    if (this.times.sample([this.files.size("stdout"), this.files.size("stderr")])) this.notifier.changed();
  }

  /** Whether one process waits for every other of the job (its PID namespace's init): then its rusage is whole. */
  get isolatedTree(): boolean {
    return this.launch.isolation?.namespaces.includes("pid") === true;
  }

  /** What it has used: live from its cgroup (and its leader) while it runs, final once it ended. */
  currentUsage(): JobUsage | undefined {
    if (this.phase.kind !== "running") return this.usage;
    const { process, cgroup } = this.phase;
    return combineUsage(cgroup?.usage() ?? {}, () => runningLeaderUsage(process.pid), this.isolatedTree);
  }

  /** The index as of now: a reader that seeks (tail, since) must not miss what was written since the last event. */
  currentTimes(): TimesView {
    this.outputChanged();
    return this.times;
  }

  /** Output grew: if it passed the cap, stop the job (once per burst of writes). */
  private scheduleLimitCheck(): void {
    if (this.limitCheckPending || !Number.isFinite(this.maxOutputBytes) || this.phase.kind !== "running") return;
    this.limitCheckPending = true;
    setImmediate(() => {
      this.limitCheckPending = false;
      const over = this.files.size("stdout") > this.maxOutputBytes || this.files.size("stderr") > this.maxOutputBytes;
      if (over && this.phase.kind === "running") void this.terminate(0, "output-limit");
    });
  }

  get isRunning(): boolean {
    return this.status.state === "running";
  }

  /** The running process and its cgroup, while there is one (for termination). */
  get runningProcess(): { process: JobProcess; cgroup: JobCgroup | undefined } | undefined {
    return this.phase.kind === "running" ? this.phase : undefined;
  }

  /** Resolves once the start is settled: the process runs, or the job has failed or ended. */
  /**
   * Sends `signal` to the job's process group, and to its processes that left the group
   * (through its cgroup), once its process runs (a start in flight is waited for).
   * Resolves with false when the job is not running (it ended, or never started).
   */
  async signal(signal: NodeJS.Signals): Promise<boolean> {
    await this.whenStartSettled();
    const running = this.runningProcess;
    if (!running) return false;
    running.process.signalGroup(signal);
    // The group's members had it already: skipped, so that no trap runs twice.
    running.cgroup?.signalAll(signal, running.process.pid);
    return true;
  }

  whenStartSettled(): Promise<void> {
    return this.startSettled;
  }

  get pid(): number | undefined {
    return this.phase.kind === "running" ? this.phase.process.pid : undefined;
  }

  getStatus(): JobStatus {
    return { ...this.status };
  }

  toRecord(): StoredJob {
    // Before its process runs a job has written nothing, and its files may not exist yet
    // (its first process makes them): no stat on the path of every create.
    const unstarted = this.phase.kind === "queued" || this.phase.kind === "starting";
    const sizes = this.finalSizes ?? (unstarted ? { stdout: 0, stderr: 0 } : { stdout: this.files.size("stdout"), stderr: this.files.size("stderr") });
    const process = this.phase.kind === "running" ? this.pidInfo : undefined;
    return {
      id: this.id,
      owner: this.spec.owner,
      cmd: this.spec.cmd,
      args: [...this.spec.args],
      cwd: this.cwd,
      envNames: Object.keys(this.spec.env),
      createdAt: this.createdAt,
      ...(this.startedAt !== undefined && { startedAt: this.startedAt }),
      ...(this.endedAt !== undefined && { endedAt: this.endedAt }),
      ...(process && { pid: process.pid, pidStart: process.pidStart, bootId: bootId() }),
      ...this.status,
      stdoutBytes: Math.min(sizes.stdout, this.maxOutputBytes),
      stderrBytes: Math.min(sizes.stderr, this.maxOutputBytes),
      ...(this.truncated && { truncated: true }),
      ...(this.usage && { usage: this.usage }),
      ...(Object.keys(this.limits).length > 0 && { limits: { ...this.limits } }),
      ...(this.deadlineAt !== undefined && { deadlineAt: this.deadlineAt }),
      ...(this.launch.isolation && { isolation: this.launch.isolation }),
      ...(Object.keys(this.spec.labels).length > 0 && { labels: { ...this.spec.labels } }),
    };
  }

  /**
   * Terminates the job's process tree: SIGTERM, then SIGKILL after `graceMs` if the main
   * process has not exited. Resolves once the job has ended. Concurrent calls share one
   * termination; the first reason given is the one recorded. A job still starting is
   * terminated once its process exists.
   */
  terminate(graceMs: number, reason?: StopReason): Promise<void> {
    if (this.phase.kind === "ended" || this.phase.kind === "ending") return this.ended;
    this.stopReason ??= reason;
    this.termination ??= this.startSettled.then(() => {
      const running = this.runningProcess;
      return running ? terminateJob(running, graceMs, this.ended) : this.ended;
    });
    return this.termination;
  }

  /**
   * The write end of the job's stdin, for its one writer; undefined when the job has none
   * (started without `stdin`, ended, or already written). Ending it closes the job's stdin.
   */
  takeStdin(): Writable | undefined {
    if (!this.spec.stdin || this.stdinTaken) return undefined;
    if (this.phase.kind === "queued" || this.phase.kind === "starting") {
      // Written before the job runs: held (with backpressure) until its process is there.
      this.stdinTaken = true;
      return stdinOnceStarted(this.startSettled.then(() => this.runningProcess?.process.stdin ?? undefined));
    }
    const stdin = this.runningProcess?.process.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) return undefined;
    this.stdinTaken = true;
    return stdin;
  }

  /** Why `takeStdin` gives nothing, in the words of a 409. */
  stdinRefusal(): string {
    if (!this.spec.stdin) return "the job was started without stdin (\"stdin\": true)";
    if (!this.runningProcess) return "the job has ended";
    return "the job's stdin is taken: one writer at a time, and its end closes the stdin";
  }

  /** Resolves when the job has ended (immediately for a job that never started). */
  whenEnded(): Promise<void> {
    return this.ended;
  }

  /** Why the job could not start, as execvp would have failed (see explain-spawn-failure.ts). */
  explainFailure(errCode?: string): StartFailure {
    const failure = explainSpawnFailure(this.spec.cmd, this.cwd, this.launch.env.PATH, errCode);
    if (!this.launch.confinement.runAs || failure.code === "COMMAND_NOT_FOUND" || failure.code === "CWD_NOT_FOUND") return failure;
    // The server looks with its own (root) eyes: under another uid, "it exists but…" would
    // tell a client about paths its user cannot see, unless anyone may see them.
    const looked = failure.code.startsWith("CWD_") ? this.cwd : this.spec.cmd.includes("/") ? resolve(this.cwd, this.spec.cmd) : undefined;
    if (looked === undefined || visibleToAnyone(looked)) return failure;
    if (failure.code === "PERMISSION_DENIED") {
      return { code: "COMMAND_NOT_FOUND", message: `command not found or not executable: ${this.spec.cmd}` };
    }
    if (failure.code === "CWD_NOT_A_DIRECTORY") {
      return { code: "CWD_NOT_FOUND", message: `working directory not usable: ${this.cwd}` };
    }
    return failure;
  }
}
