import type { Readable, Writable } from "node:stream";
import { dataDirHealth, type DataDirHealth } from "./data-dir-health.js";
import { isDiskFull } from "./disk-space.js";
import { JobNotFoundError, JobNotRunningError, PoolClosedError, StdinNotAvailableError } from "./errors.js";
import { checkSignal } from "./job-signal.js";
import type { IsolationReport } from "./isolation/host.js";
import type { ConfinementMode } from "./confinement/job-confinement.js";
import { publicRecord, statusOf } from "./job-records.js";
import type { JobPage } from "./job-store.js";
import { OutputAccess } from "./output-access.js";
import { OutputNotifier } from "./output-notifier.js";
import { OutputWatcher } from "./output-watcher.js";
import { JobAdmission, type Admitted, type Slots } from "./pool/admission.js";
import { JobQueue } from "./pool/job-queue.js";
import { takeUpQueuedJobs } from "./pool/queued-again.js";
import type { Job } from "./job.js";
import { JobObservers } from "./pool/job-observers.js";
import { listAll, listPage } from "./pool/listing.js";
import { LiveJobs, type Found } from "./pool/live-jobs.js";
import { closePoolParts, openPoolParts, type PoolParts } from "./pool/open.js";
import { RetentionSweeper } from "./retention.js";
import { startJob } from "./start/start-job.js";
import type { JobLimits, JobObserver, JobRecord, JobSpec, JobState, JobStatus, ListFilter } from "./types.js";
import type { LogOptions, OutputName, PageOptions, PoolOptions, ResourceControlReport, StreamOptions } from "./types.js";

export { DEFAULT_MAX_OUTPUT_BYTES } from "./pool/admission.js";

const DEFAULT_STOP_GRACE_MS = 5000;
/** Jobs taken up again after a restart wait, whatever the slots: the queue lets them out in order. */
const WAIT: Slots = { admits: () => false };

/**
 * The job pool: the one object through which jobs are created, observed, stopped and
 * deleted (docs/design.md, "Engine"). Records are kept in SQLite and output in files under
 * `dataDir`, so both survive restarts; only running jobs are held in memory. It is the
 * registry and the API; admission (pool/admission.ts), the start (start/start-job.ts)
 * and each job's end (job-finish.ts) are modules of their own.
 *
 * @example
 * const pool = await JobPool.open({ dataDir: "/var/lib/jobworker" });
 * const id = pool.create({ cmd: "ls", args: ["-la"], owner: "alice" });
 * pool.stream(id, "stdout", { follow: true }).pipe(process.stdout);
 */
export class JobPool {
  private readonly live = new LiveJobs();
  private readonly queue: JobQueue;
  private readonly observers = new JobObservers();
  private readonly admission: JobAdmission;
  private readonly outputs: OutputAccess;
  private readonly outputWatcher: OutputWatcher;
  private readonly retention: RetentionSweeper | undefined;
  private readonly stopGraceMs: number;
  private closing: Promise<void> | undefined;

  private constructor(private readonly parts: PoolParts, options: PoolOptions) {
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.queue = new JobQueue(options.queue ?? {});
    this.admission = new JobAdmission(parts, options, this.observers);
    this.outputs = new OutputAccess(parts.jobsDir, this.admission.maxOutputBytes);
    this.outputWatcher = new OutputWatcher(
      parts.jobsDir,
      (id) => this.live.get(id)?.outputChanged(),
      () => this.live.all().forEach((job) => job.outputChanged()),
      undefined,
      options.outputWatch,
    );
    if (options.retain) this.retention = new RetentionSweeper(parts.store, options.retain, (id) => this.delete(id));
  }

  /**
   * Opens the pool whose records and output live under `dataDir` (created, mode 0700, if
   * missing). Jobs that a previous server left running are dealt with before this
   * resolves: their remaining processes are killed and they are recorded as interrupted.
   * Throws `LauncherUnavailableError` where the native launcher is not built.
   */
  static async open(options: PoolOptions): Promise<JobPool> {
    const pool = new JobPool(await openPoolParts(options), options);
    // What waited when the last server stopped waits again, in its order (docs/design.md, "Queue").
    takeUpQueuedJobs(pool.parts.store, (spec, again) => pool.take(pool.admission.admit(spec, false, WAIT, again)));
    void pool.outputs.removeOrphans((id) => pool.live.has(id) || pool.parts.store.has(id), () => pool.closing !== undefined);
    return pool;
  }

  /**
   * Creates a job and returns its id at once; it is recorded, and `running` while the
   * launcher makes its process, or `queued` while it waits for a slot (`PoolOptions.queue`).
   * A command that cannot be found or executed makes a job in state "error" at once, with
   * the reason. Throws only for an invalid spec (`InvalidJobSpecError`), a closed pool
   * (`PoolClosedError`), a full disk (`StorageFullError`) and a full queue
   * (`TooManyJobsError`). Never waits on another process.
   */
  create(spec: JobSpec): string {
    return this.take(this.admission.admit(spec, this.closing !== undefined, this.queue));
  }

  /**
   * The same as `create`, resolving once the job's process runs, its start failure is
   * recorded, or it is queued: the server's path, which answers with a job that runs or waits.
   */
  async start(spec: JobSpec): Promise<string> {
    const id = this.create(spec);
    const job = this.live.get(id);
    if (job && !job.isQueued) await job.whenStartSettled();
    return id;
  }

  /** A job admitted: held, told of, and started now or when its turn comes. */
  private take({ job, record, timeoutMs, start }: Admitted): string {
    if (!job.isRunning && !job.isQueued) {
      this.observers.tell("recorded", record);
      return job.id;
    }
    this.live.add(job);
    // Once the pool knows it: an observer may act on the job at once.
    this.observers.tell("recorded", record);
    const run = (): void => {
      job.begin();
      this.live.armTimeout(job, timeoutMs, (timedOut, reason) => timedOut.terminate(this.stopGraceMs, reason));
      void startJob(job, start);
    };
    if (job.isQueued) this.queue.enqueue(job, run);
    else this.queue.startNow(job, run);
    return job.id;
  }

  /**
   * Tells `observer` of every job recorded from now on, and of the end of each that ran
   * (see {@link JobObserver}); the server's metrics count with it. Returns the function
   * that stops telling it.
   */
  observe(observer: JobObserver): () => void {
    return this.observers.add(observer);
  }

  /** How many records there are in each state (kept up to date by the store: free to ask, for metrics). */
  countByState(): Record<JobState, number> {
    this.checkOpen();
    return this.parts.store.countByState();
  }

  /** Bytes written so far by the jobs running now, per stream (each capped as its record is). */
  runningOutputBytes(): Record<OutputName, number> {
    return this.live.runningOutputBytes();
  }

  /** Whether the data disk is (nearly) full: new jobs are refused and output is cut short. */
  diskFull(): boolean {
    return isDiskFull(this.parts.dataDir);
  }

  /** The job's state (with its place in the queue while queued); throws `JobNotFoundError` for an unknown id. */
  status(id: string): JobStatus {
    const found = this.find(id);
    return found.job ? this.liveStatus(found.job) : statusOf(found.record);
  }

  /** The job's full record (command, times, sizes, status). */
  get(id: string): JobRecord {
    const found = this.find(id);
    return publicRecord(found.job ? this.liveRecord(found.job) : found.record);
  }

  /** A live job's record as of now: its place in the queue, its usage so far. */
  private liveRecord(job: Job): JobRecord {
    const usage = job.currentUsage();
    return { ...job.toRecord(), ...this.liveStatus(job), ...(usage && { usage }) };
  }

  private liveStatus(job: Job): JobStatus {
    const position = job.isQueued ? this.queue.position(job) : undefined;
    return { ...job.getStatus(), ...(position !== undefined && { queuePosition: position }) };
  }

  /** Resolves with the job's final status once it has ended (at once for a finished job). */
  async wait(id: string): Promise<JobStatus> {
    const found = this.find(id);
    if (!found.job) return statusOf(found.record);
    await found.job.whenEnded();
    return found.job.getStatus();
  }

  /** All of the output written so far, both streams. Prefer `stream` for large output. */
  async output(id: string): Promise<{ stdout: Buffer; stderr: Buffer }> {
    this.find(id);
    return this.outputs.read(id);
  }

  /**
   * A stream of one output's raw bytes from `offset`. With `follow`, it delivers new bytes
   * as they are written and ends once the job has ended and every byte was delivered.
   */
  stream(id: string, which: OutputName, options: StreamOptions = {}): Readable {
    const found = this.find(id);
    return this.outputs.stream(id, which, options, found.job?.notifier ?? OutputNotifier.forEndedJob(), found.job);
  }

  /**
   * Both streams as `OutputChunk`s ({stream, time, data}) in capture order, from the
   * last `tail` lines or what was captured `since`; with `follow`, live until the job ends.
   */
  log(id: string, options: LogOptions = {}): Readable {
    const found = this.find(id);
    return this.outputs.log(id, options, found.job?.notifier ?? OutputNotifier.forEndedJob(), found.job);
  }

  /**
   * The write end of a running job's stdin (a job created with `stdin: true`), for one
   * writer: pipe into it with backpressure (`stream.pipeline`); ending it closes the
   * job's stdin. Throws `StdinNotAvailableError` when the job has no stdin, has ended, or
   * its stdin was taken already; `JobNotFoundError` for unknown ids.
   */
  openStdin(id: string): Writable {
    const { job } = this.find(id);
    if (!job) throw new StdinNotAvailableError("the job has ended");
    const stdin = job.takeStdin();
    if (!stdin) throw new StdinNotAvailableError(job.stdinRefusal());
    return stdin;
  }

  /**
   * Terminates the job's whole process tree (SIGTERM, grace, SIGKILL); keeps its record
   * and output. A queued job is cancelled: it never runs.
   */
  async stop(id: string): Promise<void> {
    const { job } = this.find(id);
    if (job) await this.end(job);
  }

  private end(job: Job): Promise<void> {
    if (this.queue.remove(job)) job.cancel();
    return job.terminate(this.stopGraceMs);
  }

  /**
   * Sends one signal to a running job, as kill(1) would to its process group (and to
   * what left the group, through its cgroup), with no grace period and no escalation:
   * that is `stop`. Throws `InvalidArgumentError` for a name that is not a signal's,
   * `JobNotRunningError` once the job has ended.
   */
  async signal(id: string, signal: NodeJS.Signals): Promise<void> {
    const name = checkSignal(signal);
    const { job } = this.find(id);
    if (job?.isQueued) throw new JobNotRunningError("the job is queued: it has not started, and there is nothing to signal");
    if (!job || !(await job.signal(name))) throw new JobNotRunningError("the job is not running: it has ended, and there is nothing to signal");
  }

  /**
   * Stops the job if it runs, then removes its record and output. Resolves once all are
   * gone; concurrent deletes of the same job share that outcome.
   */
  delete(id: string): Promise<void> {
    try {
      // A deletion in progress is shared (live.delete), not looked up again.
      const { job } = this.live.deletion(id) ? { job: undefined } : this.find(id);
      return this.live.delete(id, async () => {
        if (job) await this.end(job);
        this.outputs.remove(id, this.parts.store, new JobNotFoundError(id));
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Every record that matches, newest first. For large histories use `listPage`. */
  list(filter: ListFilter = {}): JobRecord[] {
    return listAll((options) => this.listPage(options), filter);
  }

  /**
   * One page of records, newest first: `limit` of them (default 100, at most 1000), after
   * `cursor` (the previous page's `nextCursor`), never repeating or skipping a job.
   */
  listPage(options: PageOptions = {}): JobPage {
    this.checkOpen();
    return listPage(this.parts.store, this.live, options, (job) => this.liveRecord(job));
  }

  /** Applies the retention policy now (it also runs by itself in the background). */
  async applyRetention(): Promise<void> {
    await this.retention?.sweep();
  }

  /** Whether new jobs can be taken and recorded (disk space, a writable store); never reads job data. */
  health(): DataDirHealth {
    return dataDirHealth(this.parts.dataDir);
  }

  /** What resource control this host allows: for the operator's start-up log, and for tests. */
  resourceControl(): ResourceControlReport {
    return structuredClone(this.parts.cgroups.report);
  }

  /** What isolation jobs get on this host (for the operator's start-up report). */
  isolation(): IsolationReport {
    return { ...this.parts.isolation };
  }

  /** How jobs are started here: one line for the operator (`serve` prints it). */
  startPath(): { launcher: true; summary: string } {
    return { launcher: true, summary: `start path: every job is forked by the launcher, off the server's thread${this.parts.launcher.problem ? ` (${this.parts.launcher.problem})` : ""}` };
  }

  /** How many jobs run at once and how many may wait: one line for the operator. */
  queuePolicy(): { summary: string } {
    return { summary: this.queue.summary() };
  }

  /** What a job runs as and under: one line for the operator. */
  confinement(): { mode: ConfinementMode["kind"]; summary: string } {
    return { mode: this.parts.confiner.mode.kind, summary: this.parts.confiner.summary() };
  }

  /** The launcher's pid, for tests that stop or kill it. */
  launcherPid(): number | undefined {
    return this.parts.launcher.pid;
  }

  /** The limits a job that asks for none gets, the most any job may ask for, and the limits over each identity's jobs together. */
  limitPolicy(): { defaults: JobLimits; maxima: JobLimits; perClient: JobLimits } {
    return structuredClone(this.parts.limits);
  }

  /**
   * Resolves once every state change made so far is on disk, safe even from power loss.
   * Changes are committed (safe from a crash of this process) before any method returns;
   * call this before acknowledging one to someone who must never lose it, as the server
   * does before answering. Concurrent calls share one fsync, which runs off the main thread.
   */
  persisted(): Promise<void> {
    this.checkOpen();
    return this.parts.store.durable();
  }

  /** Number of running jobs (starting ones included), optionally of one owner. */
  runningCount(owner?: string): number {
    return this.queue.runningCount(owner);
  }

  /** Number of running jobs per identity (identities with none are absent): for the metrics. */
  runningByOwner(): Map<string, number> {
    return this.queue.runningByOwner();
  }

  /** Number of jobs waiting for a slot, per identity (identities with none are absent): for the metrics. */
  queuedByOwner(): Map<string, number> {
    return this.queue.queuedByOwner();
  }

  /**
   * Refuses new jobs, stops every running one (recorded as stopped by the shutdown),
   * waits for them, and closes the record store. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.retention?.stop();
      this.outputWatcher.close();
      // What waits stays queued on disk, for the next open; nothing more starts.
      this.queue.close().forEach((job) => job.abandon());
      await Promise.all(this.live.all().map((job) => job.terminate(this.stopGraceMs, "shutdown")));
      await this.live.deletionsSettled();
      await closePoolParts(this.parts);
    })();
    return this.closing;
  }

  private find(id: string): Found {
    this.checkOpen();
    return this.live.find(id, this.parts.store);
  }

  private checkOpen(): void {
    if (this.closing) throw new PoolClosedError();
  }
}
