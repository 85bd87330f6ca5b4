import { randomUUID } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { dataDirHealth, type DataDirHealth } from "./data-dir-health.js";
import { isDiskFull, isNoSpaceError } from "./disk-space.js";
import { CgroupHost } from "./cgroups/cgroup-host.js";
import { lockDataDir, type DataDirLock } from "./data-dir-lock.js";
import { checkPoolOptions } from "./pool-options.js";
import { detectIsolation, INIT_HELPER, type IsolationOptions, type IsolationReport } from "./isolation/host.js";
import type { JobCgroup } from "./cgroups/job-cgroup.js";
import { effectiveLimits } from "./cgroups/limits.js";
import { InvalidArgumentError, IsolationNotAvailableError, StdinNotAvailableError, TimeoutAboveMaximumError, JobNotFoundError, PoolClosedError, StorageFullError } from "./errors.js";
import { Job } from "./job.js";
import { Launcher, launcherBuilt } from "./start/launcher.js";
import { defaultJobEnv, jobEnv } from "./job-env.js";
import { validateJobSpec, type ValidJobSpec } from "./job-spec.js";
import { findSetpriv } from "./run-as.js";
import { JobStore, type JobPage, type StoredJob } from "./job-store.js";
import { OutputFiles } from "./output-files.js";
import { OutputNotifier } from "./output-notifier.js";
import { OutputReader } from "./output-reader.js";
import { OutputWatcher } from "./output-watcher.js";
import { recoverInterruptedJobs } from "./recovery.js";
import { RetentionSweeper } from "./retention.js";
import type {
  JobLimits,
  JobObserver,
  JobRecord,
  JobSpec,
  JobState,
  JobStatus,
  ListFilter,
  OutputName,
  PageOptions,
  PoolOptions,
  ResourceControlReport,
  RunAsUser,
  StreamOptions,
} from "./types.js";

const DEFAULT_STOP_GRACE_MS = 5000;
/** Size of a job's private /tmp (and of /var/tmp) when neither the pool nor a memory limit sets one. */
export const DEFAULT_TMP_SIZE_BYTES = 64 * 1024 * 1024;
/** Per-stream output cap unless the pool is told otherwise: 1 GiB. */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 ** 3;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/** A spec checked by `JobPool.check`, with its job's id. */
interface CheckedSpec {
  id: string;
  valid: ValidJobSpec;
  limits: JobLimits;
  network: "host" | "none";
  timeoutMs: number | undefined;
}

const noop = (): void => {};

/** Why a job cannot start when its cgroup could not be made: only the error code (the message holds the server's cgroup paths). */
function cgroupSetupError(err: unknown): string {
  return `cannot start: the job's cgroup could not be created (${(err as NodeJS.ErrnoException).code ?? "failed"})`;
}

/** A job as the pool finds it: running under our supervision, or a record on disk. */
type Found = { job: Job; record?: undefined } | { job?: undefined; record: StoredJob };

/**
 * The job pool: the one object through which jobs are created, observed, stopped and
 * deleted (docs/design.md, "Engine"). Records are kept in SQLite and output in files under
 * `dataDir`, so both survive restarts; only running jobs are held in memory.
 *
 * @example
 * const pool = await JobPool.open({ dataDir: "/var/lib/jobworker" });
 * const id = pool.create({ cmd: "ls", args: ["-la"], owner: "alice" });
 * pool.stream(id, "stdout", { follow: true }).pipe(process.stdout);
 */
export class JobPool {
  /** Jobs whose processes we supervise, until their end is recorded. */
  private readonly live = new Map<string, Job>();
  /** Jobs being started by `start`, by id: known to nobody yet, but counted. */
  private readonly starting = new Map<string, { owner: string | undefined; done: Promise<void> }>();
  /** Deletions in progress: those jobs are already gone for everyone else. */
  private readonly deleting = new Map<string, Promise<void>>();
  /** Open readers per job, so a deletion can end them. */
  private readonly readers = new Map<string, Set<Readable>>();
  /** Told of jobs' starts and ends (see `observe`). */
  private readonly observers = new Set<JobObserver>();
  private readonly dataDir: string;
  private readonly jobsDir: string;
  private readonly stopGraceMs: number;
  private readonly maxOutputBytes: number;
  private readonly defaultCwd: string;
  private readonly baseEnv: Record<string, string>;
  private readonly store: JobStore;
  private readonly cgroups: CgroupHost;
  /** This pool's exclusive hold on its data directory (set by `open`). */
  private lock: DataDirLock | undefined;
  /** What the host lets the pool isolate (set by `open`). */
  private isolationReport: IsolationReport = { enabled: false, summary: "isolation: off" };
  private readonly isolationOptions: IsolationOptions;
  private readonly timeouts: { defaultMs?: number; maxMs?: number };
  private readonly defaultLimits: JobLimits;
  private readonly maxLimits: JobLimits;
  private readonly runAs: RunAsUser | undefined;
  private readonly setpriv: string | undefined;
  private readonly launcherWanted: boolean;
  /** Forks jobs off this thread, where it was built (see `startPath`). */
  private launcher: Launcher | undefined;
  /** Why the launcher is not in use, when it is not. */
  private launcherProblem: string | undefined;
  private launcherRestart: Promise<void> | undefined;
  private retention: RetentionSweeper | undefined;
  private outputWatcher: OutputWatcher | undefined;
  private closing: Promise<void> | undefined;

  private constructor(dataDir: string, store: JobStore, cgroups: CgroupHost, options: PoolOptions, limits: { defaults: JobLimits; maxima: JobLimits }) {
    this.dataDir = dataDir;
    this.jobsDir = join(dataDir, "jobs");
    this.store = store;
    this.cgroups = cgroups;
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.defaultCwd = options.defaultCwd ?? tmpdir();
    this.runAs = options.runAs;
    this.isolationOptions = options.isolation === false ? {} : (options.isolation ?? {});
    this.timeouts = options.timeouts ?? {};
    this.setpriv = options.runAs?.groups?.length ? findSetpriv() : undefined;
    this.baseEnv = options.baseEnv ?? { ...defaultJobEnv(), ...(options.runAs && { HOME: options.runAs.home }) };
    this.defaultLimits = limits.defaults;
    this.maxLimits = limits.maxima;
    this.launcherWanted = options.launcher !== false && launcherBuilt();
  }

  /**
   * Opens the pool whose records and output live under `dataDir` (created, mode 0700, if
   * missing). Jobs that a previous server left running are dealt with before this
   * resolves: their remaining processes are killed and they are recorded as interrupted.
   */
  static async open(options: PoolOptions): Promise<JobPool> {
    const dataDir = resolve(options.dataDir);
    const { defaults, maxima } = checkPoolOptions(options);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // Before anything else in the directory is touched: recovery would take a live
    // server's jobs for a crash's leftovers, and its cgroup pool is its own.
    const lock = lockDataDir(dataDir);
    let cgroups: CgroupHost | undefined;
    let store: JobStore | undefined;
    let isolation: IsolationReport;
    try {
      isolation = detectIsolation(options.isolation !== false, (options.isolation || undefined)?.helperPath);
      if (options.isolation && options.isolation.networkNone && !isolation.enabled) {
        throw new IsolationNotAvailableError(`every job is to have network "none", but ${isolation.summary}`);
      }
      await mkdir(join(dataDir, "jobs"), { recursive: true, mode: 0o700 });
      // mkdir's mode applies only to a directory it creates: output is owner-only regardless.
      await chmod(join(dataDir, "jobs"), 0o700);
      // Jobs may not read the data directory (other jobs' output, the records): with runAs
      // it must be the server's alone, whatever mode it was created with.
      if (options.runAs) await chmod(dataDir, 0o700);
      cgroups = await CgroupHost.open(dataDir, options.cgroups !== false);
      // Every job gets the defaults, else the maxima: the host must be able to enforce them.
      cgroups.checkEnforceable(effectiveLimits({}, defaults, maxima));
      store = new JobStore(dataDir);
    } catch (err) {
      cgroups?.close();
      lock.release();
      throw err;
    }
    const pool = new JobPool(dataDir, store, cgroups, options, { defaults, maxima });
    pool.lock = lock;
    pool.isolationReport = isolation;
    if (pool.launcherWanted) await pool.startLauncher();
    await recoverInterruptedJobs(store, (id) => new OutputFiles(pool.jobsDir, id));
    pool.outputWatcher = new OutputWatcher(
      pool.jobsDir,
      (id) => pool.live.get(id)?.notifier.changed(),
      () => pool.live.forEach((job) => job.notifier.changed()),
    );
    void pool.removeOrphanedOutput();
    if (options.retain) pool.retention = new RetentionSweeper(store, options.retain, (id) => pool.delete(id));
    return pool;
  }

  /**
   * Starts a job and returns its id at once. A command that cannot start still makes a
   * job, in state "error" with the reason. Throws only for an invalid spec
   * (`InvalidJobSpecError`), a closed pool (`PoolClosedError`) and a full disk
   * (`StorageFullError`).
   */
  create(spec: JobSpec): string {
    const checked = this.check(spec);
    let made: { cgroup?: JobCgroup; setupError?: string } = {};
    if (this.cgroups.usable) {
      try {
        made = { cgroup: this.cgroups.create(checked.id, checked.limits) };
      } catch (err) {
        made = { setupError: cgroupSetupError(err) };
      }
    }
    const prepared = this.makeJob(checked, made);
    prepared.job.start();
    return this.register(prepared);
  }

  /**
   * The same as `create`, without holding this thread while the job's cgroup and process
   * are made (the launcher answers while other work goes on): the server's path. Resolves
   * with the id once the job runs, or has its start failure recorded; rejects as `create`
   * throws. The job counts in `runningCount` from the call on.
   */
  async start(spec: JobSpec): Promise<string> {
    const checked = this.check(spec);
    const started = this.startChecked(checked);
    this.starting.set(checked.id, { owner: checked.valid.owner, done: started.then(noop, noop) });
    try {
      return await started;
    } finally {
      this.starting.delete(checked.id);
    }
  }

  private async startChecked(checked: CheckedSpec): Promise<string> {
    let made: { cgroup?: JobCgroup; setupError?: string } = {};
    if (this.cgroups.usable) {
      try {
        made = { cgroup: await this.cgroups.createAsync(checked.id, checked.limits) };
      } catch (err) {
        made = { setupError: cgroupSetupError(err) };
      }
    }
    const prepared = this.makeJob(checked, made);
    await prepared.job.startAsync();
    return this.register(prepared);
  }

  /** Checks a spec against the pool's rules and the host; gives the job its id. */
  private check(spec: JobSpec): CheckedSpec {
    const valid = validateJobSpec(spec);
    if (this.closing) throw new PoolClosedError();
    const limits = effectiveLimits(valid.limits, this.defaultLimits, this.maxLimits);
    const network = this.isolationOptions.networkNone ? "none" : valid.network;
    if (network === "none" && !this.isolationReport.enabled) {
      throw new IsolationNotAvailableError(`network "none" needs isolation, and this server has none (${this.isolationReport.summary.replace(/^isolation: /, "")})`);
    }
    const timeoutMs = this.effectiveTimeout(valid.timeoutMs);
    this.cgroups.checkEnforceable(limits);
    if (isDiskFull(this.dataDir)) throw new StorageFullError();
    if (this.launcher && !this.launcher.usable && !this.launcherRestart) {
      this.launcher = undefined;
      void this.startLauncher();
    }
    return { id: randomUUID(), valid, limits, network, timeoutMs };
  }

  /** The job of a checked spec, with its cgroup (or why it has none), not started yet. */
  private makeJob({ id, valid, limits, network, timeoutMs }: CheckedSpec, { cgroup, setupError }: { cgroup?: JobCgroup; setupError?: string }): { job: Job; timeoutMs: number | undefined } {
    const job = new Job({
      id,
      spec: valid,
      cwd: valid.cwd ?? this.defaultCwd,
      env: jobEnv(this.baseEnv, valid.env, id),
      files: new OutputFiles(this.jobsDir, id),
      maxOutputBytes: this.maxOutputBytes,
      recordEnd: (record) => {
        this.store.finish(record);
        // Only a registered job's end is news: one whose record could not be made never existed.
        if (this.live.has(record.id)) this.tell("ended", record);
      },
      diskFull: () => isDiskFull(this.dataDir),
      limits,
      ...(timeoutMs !== undefined && { deadlineAt: Date.now() + timeoutMs }),
      ...(cgroup && { cgroup }),
      ...(setupError !== undefined && { setupError }),
      ...(this.runAs && { runAs: this.runAs }),
      ...(this.launcher && { launcher: this.launcher }),
      ...(this.setpriv && { setpriv: this.setpriv }),
      ...(this.isolationReport.enabled && {
        isolation: {
          network,
          tmpSizeBytes: this.isolationOptions.tmpSizeBytes ?? limits.memoryBytes ?? DEFAULT_TMP_SIZE_BYTES,
          helper: this.isolationOptions.helperPath ?? INIT_HELPER,
        },
      }),
    });
    return { job, timeoutMs };
  }

  /** Records a started job and watches it; the job is known to everyone from here. */
  private register({ job, timeoutMs }: { job: Job; timeoutMs: number | undefined }): string {
    const id = job.id;
    if (timeoutMs !== undefined && job.isRunning) this.stopAtDeadline(job, timeoutMs);
    const record = job.toRecord();
    try {
      this.store.insert(record);
    } catch (err) {
      // Unrecorded, the job must not exist at all: nobody could ever see or stop it.
      void job.terminate(0).then(() => job.files.remove());
      if (isNoSpaceError(err)) throw new StorageFullError();
      throw err;
    }
    if (job.isRunning) {
      this.live.set(id, job);
      void job.whenEnded().then(() => this.live.delete(id));
    } else {
      job.files.remove();
    }
    this.tell("recorded", publicRecord(record));
    return id;
  }

  /**
   * Tells `observer` of every job recorded from now on, and of the end of each that ran
   * (see {@link JobObserver}); the server's metrics count with it. Returns the function
   * that stops telling it.
   */
  observe(observer: JobObserver): () => void {
    this.observers.add(observer);
    return () => void this.observers.delete(observer);
  }

  /** One event to every observer; an observer that throws never breaks the job's bookkeeping. */
  private tell(event: keyof JobObserver, record: JobRecord): void {
    for (const observer of this.observers) {
      try {
        observer[event]?.(record);
      } catch {
        // The observer's problem: the job was recorded (or ended) all the same.
      }
    }
  }

  /** How many records there are in each state (kept up to date by the store: free to ask, for metrics). */
  countByState(): Record<JobState, number> {
    this.checkOpen();
    return this.store.countByState();
  }

  /** Bytes written so far by the jobs running now, per stream (each capped as its record is). */
  runningOutputBytes(): Record<OutputName, number> {
    const total = { stdout: 0, stderr: 0 };
    for (const job of this.live.values()) {
      if (!job.isRunning) continue;
      const { stdoutBytes, stderrBytes } = job.toRecord();
      total.stdout += stdoutBytes;
      total.stderr += stderrBytes;
    }
    return total;
  }

  /** Whether the data disk is (nearly) full: new jobs are refused and output is cut short. */
  diskFull(): boolean {
    return isDiskFull(this.dataDir);
  }

  /** The job's state; throws `JobNotFoundError` for an unknown id. */
  status(id: string): JobStatus {
    const found = this.find(id);
    return found.job ? found.job.getStatus() : statusOf(found.record);
  }

  /** The job's full record (command, times, sizes, status). */
  get(id: string): JobRecord {
    const found = this.find(id);
    return publicRecord(found.job ? found.job.toRecord() : found.record);
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
    const files = new OutputFiles(this.jobsDir, id);
    const [stdout, stderr] = await Promise.all(
      (["stdout", "stderr"] as const).map(async (name) => (await readOrEmpty(files.path(name))).subarray(0, this.maxOutputBytes)),
    );
    return { stdout: stdout!, stderr: stderr! };
  }

  /**
   * A stream of one output's raw bytes from `offset`. With `follow`, it delivers new bytes
   * as they are written and ends once the job has ended and every byte was delivered.
   */
  stream(id: string, which: OutputName, options: StreamOptions = {}): Readable {
    const found = this.find(id);
    if (which !== "stdout" && which !== "stderr") throw new InvalidArgumentError(`unknown output: ${String(which)}`);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError("offset must be a non-negative integer");
    const notifier = found.job?.notifier ?? OutputNotifier.forEndedJob();
    const path = new OutputFiles(this.jobsDir, id).path(which);
    const reader = new OutputReader(path, notifier, { offset, follow: options.follow === true, limit: this.maxOutputBytes });
    const open = this.readers.get(id) ?? new Set();
    this.readers.set(id, open.add(reader));
    reader.once("close", () => {
      open.delete(reader);
      if (open.size === 0 && this.readers.get(id) === open) this.readers.delete(id);
    });
    return reader;
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

  /** Terminates the job's whole process tree (SIGTERM, grace, SIGKILL); keeps its record and output. */
  async stop(id: string): Promise<void> {
    await this.find(id).job?.terminate(this.stopGraceMs);
  }

  /**
   * Stops the job if it runs, then removes its record and output. Resolves once all are
   * gone; concurrent deletes of the same job share that outcome.
   */
  delete(id: string): Promise<void> {
    const inProgress = this.deleting.get(id);
    if (inProgress) return inProgress;
    let found: Found;
    try {
      found = this.find(id);
    } catch (err) {
      return Promise.reject(err);
    }
    const deletion = (async () => {
      await found.job?.terminate(this.stopGraceMs);
      for (const reader of this.readers.get(id) ?? []) reader.destroy(new JobNotFoundError(id));
      const files = new OutputFiles(this.jobsDir, id);
      // Record first: a crash between the two leaves only orphaned files, which the next
      // start removes, never a record whose output is gone. Unless the disk is so full
      // that even a deletion cannot be logged: then the output goes first to make room.
      try {
        this.store.remove(id);
      } catch (err) {
        if (!isNoSpaceError(err)) throw err;
        files.remove();
        this.store.remove(id);
      }
      files.remove();
    })().finally(() => this.deleting.delete(id));
    this.deleting.set(id, deletion);
    return deletion;
  }

  /** Every record that matches, newest first. For large histories use `listPage`. */
  list(filter: ListFilter = {}): JobRecord[] {
    const all: JobRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = this.listPage({ ...filter, limit: MAX_PAGE_SIZE, cursor });
      all.push(...page.jobs);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return all;
  }

  /**
   * One page of records, newest first: `limit` of them (default 100, at most 1000), after
   * `cursor` (the previous page's `nextCursor`). Pages never repeat or skip a job, even
   * while jobs are created.
   */
  listPage(options: PageOptions = {}): JobPage {
    this.checkOpen();
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    }
    if (options.cursor !== undefined && !/^[1-9][0-9]{0,15}$/.test(options.cursor)) {
      throw new InvalidArgumentError("cursor is not valid");
    }
    const page = this.store.page({ owner: options.owner, limit, cursor: options.cursor });
    const jobs = page.jobs
      .filter((record) => !this.deleting.has(record.id))
      .map((record) => publicRecord(this.live.get(record.id)?.toRecord() ?? record));
    return { jobs, ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
  }

  /** Applies the retention policy now (it also runs by itself in the background). */
  async applyRetention(): Promise<void> {
    await this.retention?.sweep();
  }

  /** Whether new jobs can be taken and recorded (disk space, a writable store); never reads job data. */
  health(): DataDirHealth {
    return dataDirHealth(this.dataDir);
  }

  /** What resource control this host allows: for the operator's start-up log, and for tests. */
  resourceControl(): ResourceControlReport {
    return structuredClone(this.cgroups.report);
  }
  /** What isolation jobs get on this host (for the operator's start-up report). */
  isolation(): IsolationReport {
    return { ...this.isolationReport };
  }

  /** How jobs are started here: one line for the operator (`serve` prints it). */
  startPath(): { launcher: boolean; summary: string } {
    return this.launcher
      ? { launcher: true, summary: "start path: jobs are forked by the launcher, off the server's thread (jobs with stdin: by the server's thread)" }
      : { launcher: false, summary: `start path: jobs are spawned by the server's thread (${this.launcherOff()})` };
  }

  private launcherOff(): string {
    if (this.launcherProblem) return this.launcherProblem;
    return this.launcherWanted ? "the launcher is restarting" : "launcher off, or not built: `npm run build` needs a C compiler";
  }

  /** (Re)starts the launcher; until it runs, jobs are spawned by this thread. */
  private startLauncher(): Promise<void> {
    this.launcherRestart ??= Launcher.start(this.dataDir).then(
      (launcher) => {
        this.launcher = launcher;
        this.launcherProblem = undefined;
        this.launcherRestart = undefined;
        if (this.closing) void launcher.close();
      },
      (err: Error) => {
        this.launcherProblem = `the launcher could not start: ${err.message}`;
        this.launcherRestart = undefined;
      },
    );
    return this.launcherRestart;
  }

  /** The limits a job that asks for none gets, and the most any job may ask for. */
  limitPolicy(): { defaults: JobLimits; maxima: JobLimits } {
    return { defaults: { ...this.defaultLimits }, maxima: { ...this.maxLimits } };
  }

  /**
   * Resolves once every state change made so far is on disk, safe even from power loss.
   * Changes are committed (safe from a crash of this process) before any method returns;
   * call this before acknowledging one to someone who must never lose it, as the server
   * does before answering. Concurrent calls share one fsync, which runs off the main thread.
   */
  persisted(): Promise<void> {
    this.checkOpen();
    return this.store.durable();
  }

  /** Number of running jobs, optionally of one owner (for per-client limits). */
  runningCount(owner?: string): number {
    let count = 0;
    for (const job of this.live.values()) {
      if (job.isRunning && (owner === undefined || job.spec.owner === owner)) count++;
    }
    // Starting jobs count already: a limit checked before `start` holds when many start at once.
    for (const job of this.starting.values()) {
      if (owner === undefined || job.owner === owner) count++;
    }
    return count;
  }

  /**
   * Refuses new jobs, stops every running one (recorded as stopped by the shutdown),
   * waits for them, and closes the record store. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.retention?.stop();
      this.outputWatcher?.close();
      // Starts in flight end first (registered, their jobs are stopped with the others).
      await Promise.all([...this.starting.values()].map((job) => job.done));
      await Promise.all([...this.live.values()].map((job) => job.terminate(this.stopGraceMs, "shutdown")));
      await Promise.allSettled([...this.deleting.values()]);
      await this.launcher?.close();
      await this.store.close();
      this.cgroups.close();
      // Last: the directory is free only once nothing of ours runs or writes in it.
      this.lock?.release();
    })();
    return this.closing;
  }

  private find(id: string): Found {
    this.checkOpen();
    // A job being deleted is already gone for everyone but the deleters.
    if (typeof id !== "string" || this.deleting.has(id)) throw new JobNotFoundError(String(id));
    const job = this.live.get(id);
    if (job) return { job };
    const record = this.store.get(id);
    if (!record) throw new JobNotFoundError(id);
    return { record };
  }

  private checkOpen(): void {
    if (this.closing) throw new PoolClosedError();
  }

  /** The timeout a job gets: its own (within the maximum), else the default, else the maximum. */
  private effectiveTimeout(requested: number | undefined): number | undefined {
    const { defaultMs, maxMs } = this.timeouts;
    if (requested !== undefined && maxMs !== undefined && requested > maxMs) throw new TimeoutAboveMaximumError(requested, maxMs);
    return requested ?? defaultMs ?? maxMs;
  }

  /** One timer per job with a timeout, cleared when it ends; then it is stopped as `stop` does. */
  private stopAtDeadline(job: Job, timeoutMs: number): void {
    const timer = setTimeout(() => void job.terminate(this.stopGraceMs, "timeout"), timeoutMs).unref();
    void job.whenEnded().then(() => clearTimeout(timer));
  }

  /** Output files without a record (a crash during a deletion); runs in the background. */
  private async removeOrphanedOutput(): Promise<void> {
    try {
      for (const fileName of await readdir(this.jobsDir)) {
        if (this.closing) return;
        const jobId = OutputFiles.parseName(fileName)?.jobId;
        if (jobId !== undefined && !this.live.has(jobId) && !this.store.has(jobId)) {
          await rm(join(this.jobsDir, fileName), { force: true });
        }
      }
    } catch {
      // Best effort: a leftover directory costs disk space, never correctness.
    }
  }
}

function statusOf(record: JobRecord): JobStatus {
  return {
    state: record.state,
    ...(record.errorMsg !== undefined && { errorMsg: record.errorMsg }),
    ...(record.errorCode !== undefined && { errorCode: record.errorCode }),
    ...(record.exitCode !== undefined && { exitCode: record.exitCode }),
    ...(record.signal !== undefined && { signal: record.signal }),
    ...(record.oomKilled && { oomKilled: true as const }),
    ...(record.timedOut && { timedOut: true as const }),
  };
}

/** A record without the internals that only crash recovery needs. */
function publicRecord(record: StoredJob): JobRecord {
  const { pidStart: _pidStart, bootId: _bootId, ...rest } = record;
  return rest;
}

async function readOrEmpty(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw err;
  }
}
