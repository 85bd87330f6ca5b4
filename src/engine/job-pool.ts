import { randomUUID } from "node:crypto";
import { chmod, mkdir, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { dataDirHealth, type DataDirHealth } from "./data-dir-health.js";
import { isDiskFull, isNoSpaceError } from "./disk-space.js";
import { CgroupHost } from "./cgroups/cgroup-host.js";
import { lockDataDir, type DataDirLock } from "./data-dir-lock.js";
import { checkPoolOptions } from "./pool-options.js";
import { detectIsolation, JOB_NAMESPACES, type IsolationOptions, type IsolationReport } from "./isolation/host.js";
import { effectiveLimits } from "./cgroups/limits.js";
import {
  InvalidArgumentError,
  IsolationNotAvailableError,
  LauncherUnavailableError,
  StdinNotAvailableError,
  TimeoutAboveMaximumError,
  JobNotFoundError,
  PoolClosedError,
  StorageFullError,
} from "./errors.js";
import { Job } from "./job.js";
import { launcherBuilt, LAUNCHER_PROGRAM } from "./start/launcher.js";
import { LauncherSupervisor } from "./start/launcher-supervisor.js";
import { startJob, type StartContext } from "./start/start-job.js";
import type { Confiner, ConfinementMode } from "./confinement/job-confinement.js";
import { groupName, hostClientLimits, hostDefaults, makeConfiner } from "./pool-setup.js";
import { publicRecord, statusOf } from "./job-records.js";
import { OutputAccess } from "./output-access.js";
import { defaultJobEnv, jobEnv } from "./job-env.js";
import { commandResolves } from "./explain-spawn-failure.js";
import { validateJobSpec, type ValidJobSpec } from "./job-spec.js";
import { JobStore, type JobPage, type StoredJob } from "./job-store.js";
import { OutputFiles } from "./output-files.js";
import { OutputNotifier } from "./output-notifier.js";
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

/** A job as the pool finds it: running under our supervision, or a record on disk. */
type Found = { job: Job; record?: undefined } | { job?: undefined; record: StoredJob };

/**
 * The job pool: the one object through which jobs are created, observed, stopped and
 * deleted (docs/design.md, "Engine"). Records are kept in SQLite and output in files under
 * `dataDir`, so both survive restarts; only running jobs are held in memory. Every job
 * starts through the launcher (start/start-job.ts), confined as `open` found possible.
 *
 * @example
 * const pool = await JobPool.open({ dataDir: "/var/lib/jobworker" });
 * const id = pool.create({ cmd: "ls", args: ["-la"], owner: "alice" });
 * pool.stream(id, "stdout", { follow: true }).pipe(process.stdout);
 */
export class JobPool {
  /** Jobs whose processes we supervise (starting or running), until their end is recorded. */
  private readonly live = new Map<string, Job>();
  /** Deletions in progress: those jobs are already gone for everyone else. */
  private readonly deleting = new Map<string, Promise<void>>();
  /** The jobs' output files, and the open readers of each. */
  private readonly outputs: OutputAccess;
  /** Told of jobs' starts and ends (see `observe`). */
  private readonly observers = new Set<JobObserver>();
  private readonly dataDir: string;
  private readonly jobsDir: string;
  private readonly stopGraceMs: number;
  private readonly maxOutputBytes: number;
  private readonly defaultCwd: string;
  private readonly baseEnv: Record<string, string>;
  private readonly isolationOptions: IsolationOptions;
  private readonly timeouts: { defaultMs?: number; maxMs?: number };
  private retention: RetentionSweeper | undefined;
  private outputWatcher: OutputWatcher | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    dataDir: string,
    private readonly store: JobStore,
    private readonly cgroups: CgroupHost,
    private readonly launcher: LauncherSupervisor,
    private readonly isolationReport: IsolationReport,
    private readonly confiner: Confiner,
    private readonly lock: DataDirLock,
    options: PoolOptions,
    private readonly defaultLimits: JobLimits,
    private readonly maxLimits: JobLimits,
    private readonly clientLimits: JobLimits,
  ) {
    this.dataDir = dataDir;
    this.jobsDir = join(dataDir, "jobs");
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.outputs = new OutputAccess(this.jobsDir, this.maxOutputBytes);
    this.defaultCwd = options.defaultCwd ?? tmpdir();
    this.isolationOptions = options.isolation === false ? {} : (options.isolation ?? {});
    this.timeouts = options.timeouts ?? {};
    this.baseEnv = options.baseEnv ?? { ...defaultJobEnv(), ...(options.runAs && { HOME: options.runAs.home }) };
  }

  /**
   * Opens the pool whose records and output live under `dataDir` (created, mode 0700, if
   * missing). Jobs that a previous server left running are dealt with before this
   * resolves: their remaining processes are killed and they are recorded as interrupted.
   * Throws `LauncherUnavailableError` where the native launcher is not built.
   */
  static async open(options: PoolOptions): Promise<JobPool> {
    const dataDir = resolve(options.dataDir);
    const checked = checkPoolOptions(options);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // Before anything else in the directory is touched: recovery would take a live
    // server's jobs for a crash's leftovers, and its cgroup pool is its own.
    const lock = lockDataDir(dataDir);
    let cgroups: CgroupHost | undefined;
    let store: JobStore | undefined;
    let launcher: LauncherSupervisor | undefined;
    try {
      const program = options.launcherProgram ?? LAUNCHER_PROGRAM;
      if (!launcherBuilt(program)) throw new LauncherUnavailableError(`the job launcher is not built (${program})`);
      // Jobs may not read the data directory (other jobs' output, the records, homes).
      await chmod(dataDir, 0o700);
      await mkdir(join(dataDir, "jobs"), { recursive: true, mode: 0o700 });
      await chmod(join(dataDir, "jobs"), 0o700);
      launcher = await LauncherSupervisor.open(program).catch((err: Error) => {
        throw new LauncherUnavailableError(err.message);
      });
      const isolation = await detectIsolation(options.isolation !== false, launcher);
      if (options.isolation && options.isolation.networkNone && !isolation.enabled) {
        throw new IsolationNotAvailableError(`every job is to have network "none", but ${isolation.summary}`);
      }
      cgroups = await CgroupHost.open(dataDir, options.cgroups !== false);
      const defaults = { ...hostDefaults(cgroups, options, checked.maxima), ...checked.defaults };
      const clientLimits = { ...hostClientLimits(cgroups, options), ...options.clientLimits };
      cgroups.checkEnforceable(clientLimits);
      // Every job gets the defaults, else the maxima: the host must be able to enforce them.
      cgroups.checkEnforceable(effectiveLimits({}, defaults, checked.maxima));
      store = new JobStore(dataDir);
      const confiner = makeConfiner(options, store, isolation, dataDir);
      // Jobs of other uids pass through it to their own home (<dataDir>/homes/<uid>, 0700):
      // searchable, never listable; everything in it is 0700 or 0600.
      if (confiner.mode.kind !== "as-server") await chmod(dataDir, 0o711);
      const pool = new JobPool(dataDir, store, cgroups, launcher, isolation, confiner, lock, options, defaults, checked.maxima, clientLimits);
      await recoverInterruptedJobs(store, (id) => new OutputFiles(pool.jobsDir, id));
      pool.outputWatcher = new OutputWatcher(
        pool.jobsDir,
        (id) => pool.live.get(id)?.notifier.changed(),
        () => pool.live.forEach((job) => job.notifier.changed()),
      );
      void pool.removeOrphanedOutput();
      if (options.retain) pool.retention = new RetentionSweeper(store, options.retain, (id) => pool.delete(id));
      return pool;
    } catch (err) {
      await launcher?.close();
      await store?.close();
      cgroups?.close();
      lock.release();
      throw err;
    }
  }

  /**
   * Creates a job and returns its id at once; it is recorded, and `running` while the
   * launcher makes its process. A command that cannot be found or executed makes a job
   * in state "error" at once, with the reason. Throws only for an invalid spec
   * (`InvalidJobSpecError`), a closed pool (`PoolClosedError`) and a full disk
   * (`StorageFullError`). Never waits on another process.
   */
  create(spec: JobSpec): string {
    const checked = this.check(spec);
    const job = this.makeJob(checked);
    if (!commandResolves(job.spec.cmd, job.cwd, job.launch.env.PATH)) job.refuse(job.explainFailure());
    this.register(job, checked.timeoutMs);
    if (job.isRunning) void startJob(job, this.startContext(checked));
    return job.id;
  }

  /**
   * The same as `create`, resolving once the job's process runs or its start failure is
   * recorded: the server's path, which answers with a job that runs.
   */
  async start(spec: JobSpec): Promise<string> {
    const id = this.create(spec);
    await this.live.get(id)?.whenStartSettled();
    return id;
  }

  private startContext({ network, limits }: CheckedSpec): StartContext {
    const tmpSizeBytes = this.isolationOptions.tmpSizeBytes ?? limits.memoryBytes ?? DEFAULT_TMP_SIZE_BYTES;
    return {
      cgroups: this.cgroups,
      launcher: this.launcher,
      confiner: this.confiner,
      fifoDir: this.jobsDir,
      ...(Object.keys(this.clientLimits).length > 0 && { groupOf: (job) => ({ name: groupName(job.launch.confinement.record.uid, job.spec.owner ?? ""), limits: this.clientLimits }) }),
      ...(this.isolationReport.enabled && { isolation: { network, tmpSizeBytes } }),
    };
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
    return { id: randomUUID(), valid, limits, network, timeoutMs };
  }

  /** The job of a checked spec, not started yet. */
  private makeJob({ id, valid, limits, network, timeoutMs }: CheckedSpec): Job {
    const plan = this.confiner.plan(valid.owner);
    return new Job({
      id,
      spec: valid,
      cwd: valid.cwd ?? this.defaultCwd,
      env: jobEnv({ ...this.baseEnv, ...(plan.home && { HOME: plan.home }) }, valid.env, id),
      files: new OutputFiles(this.jobsDir, id),
      maxOutputBytes: this.maxOutputBytes,
      recordEnd: (record) => {
        this.store.finish(record);
        this.tell("ended", record);
      },
      recordStarted: (process) => this.store.started(id, process),
      diskFull: () => isDiskFull(this.dataDir),
      limits,
      confinement: plan,
      ...(timeoutMs !== undefined && { deadlineAt: Date.now() + timeoutMs }),
      ...((this.isolationReport.enabled || plan.runAs) && {
        isolation: {
          namespaces: this.isolationReport.enabled ? [...JOB_NAMESPACES, ...(network === "none" ? ["net"] : [])] : [],
          network,
          ...plan.record,
        },
      }),
    });
  }

  /** Records a job and watches it; the job is known to everyone from here. */
  private register(job: Job, timeoutMs: number | undefined): void {
    // The output files exist once `create` returns, so that a reader can follow at once;
    // the launcher appends to them.
    if (job.isRunning) {
      try {
        job.files.create();
      } catch (err) {
        if (isNoSpaceError(err)) throw new StorageFullError();
        throw err;
      }
    }
    const record = job.toRecord();
    try {
      this.store.insert(record);
    } catch (err) {
      // Unrecorded, the job must not exist at all: nobody could ever see or stop it.
      job.files.remove();
      if (isNoSpaceError(err)) throw new StorageFullError();
      throw err;
    }
    if (job.isRunning) {
      this.live.set(job.id, job);
      void job.whenEnded().then(() => this.live.delete(job.id));
      if (timeoutMs !== undefined) this.stopAtDeadline(job, timeoutMs);
    }
    this.tell("recorded", publicRecord(record));
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
    return this.outputs.read(id);
  }

  /**
   * A stream of one output's raw bytes from `offset`. With `follow`, it delivers new bytes
   * as they are written and ends once the job has ended and every byte was delivered.
   */
  stream(id: string, which: OutputName, options: StreamOptions = {}): Readable {
    const found = this.find(id);
    return this.outputs.stream(id, which, options, found.job?.notifier ?? OutputNotifier.forEndedJob());
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
      this.outputs.endReaders(id, new JobNotFoundError(id));
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
  startPath(): { launcher: true; summary: string } {
    const problem = this.launcher.problem ? ` (${this.launcher.problem})` : "";
    return { launcher: true, summary: `start path: every job is forked by the launcher, off the server's thread${problem}` };
  }

  /** What a job runs as and under: one line for the operator. */
  confinement(): { mode: ConfinementMode["kind"]; summary: string } {
    return { mode: this.confiner.mode.kind, summary: this.confiner.summary() };
  }

  /** The launcher's pid, for tests that stop or kill it. */
  launcherPid(): number | undefined {
    return this.launcher.pid;
  }

  /** The limits a job that asks for none gets, the most any job may ask for, and the limits over each identity's jobs together. */
  limitPolicy(): { defaults: JobLimits; maxima: JobLimits; perClient: JobLimits } {
    return { defaults: { ...this.defaultLimits }, maxima: { ...this.maxLimits }, perClient: { ...this.clientLimits } };
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
      await Promise.all([...this.live.values()].map((job) => job.terminate(this.stopGraceMs, "shutdown")));
      await Promise.allSettled([...this.deleting.values()]);
      await this.launcher.close();
      await this.store.close();
      this.cgroups.close();
      // Last: the directory is free only once nothing of ours runs or writes in it.
      this.lock.release();
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

