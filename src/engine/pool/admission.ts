import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { effectiveLimits } from "../cgroups/limits.js";
import { isDiskFull, isNoSpaceError } from "../disk-space.js";
import { IsolationNotAvailableError, PoolClosedError, StorageFullError, TimeoutAboveMaximumError } from "../errors.js";
import { commandResolves } from "../explain-spawn-failure.js";
import { JOB_NAMESPACES, type IsolationOptions } from "../isolation/host.js";
import { Job } from "../job.js";
import { defaultJobEnv, jobEnv } from "../job-env.js";
import { publicRecord } from "../job-records.js";
import { validateJobSpec, type ValidJobSpec } from "../job-spec.js";
import { OutputFiles } from "../output-files.js";
import type { StartContext } from "../start/start-job.js";
import type { JobLimits, JobRecord, JobSpec, PoolOptions } from "../types.js";
import type { JobObservers } from "./job-observers.js";
import type { PoolParts } from "./open.js";
import { groupName } from "./setup.js";

/** Size of a job's private /tmp (and of /var/tmp) when neither the pool nor a memory limit sets one. */
export const DEFAULT_TMP_SIZE_BYTES = 64 * 1024 * 1024;
/** Per-stream output cap unless the pool is told otherwise: 1 GiB. */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 ** 3;

/** The pool's slots, as admission asks them: whether a job of `owner` starts now (else it waits); throws when it may do neither. */
export interface Slots {
  admits(owner: string): boolean;
}

/** A queued job recorded before a restart, taken up again under its own id and submission time. */
export interface TakenUpAgain {
  id: string;
  createdAt: number;
}

/** A job let in: recorded, with what its start needs. */
export interface Admitted {
  job: Job;
  /** The record as written (for the observers, once the job is live). */
  record: JobRecord;
  timeoutMs: number | undefined;
  start: StartContext;
}

/**
 * Letting a job in (`JobPool.create`): its spec checked against the pool's rules and the
 * host, its limits, timeout, environment and confinement fixed and its record written,
 * all before any fork. A command that cannot be found or executed
 * makes a job in state "error" here, at once.
 */
export class JobAdmission {
  readonly maxOutputBytes: number;
  private readonly defaultCwd: string;
  private readonly baseEnv: Record<string, string>;
  private readonly isolationOptions: IsolationOptions;
  private readonly timeouts: NonNullable<PoolOptions["timeouts"]>;

  constructor(
    private readonly parts: PoolParts,
    options: PoolOptions,
    private readonly observers: JobObservers,
  ) {
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.defaultCwd = options.defaultCwd ?? tmpdir();
    this.isolationOptions = options.isolation === false ? {} : (options.isolation ?? {});
    this.timeouts = options.timeouts ?? {};
    this.baseEnv = options.baseEnv ?? { ...defaultJobEnv(), ...(options.runAs && { HOME: options.runAs.home }) };
  }

  /**
   * Checks, makes and records a job. Throws `InvalidJobSpecError` and the like for a spec
   * it refuses, `PoolClosedError` while `closing`, `StorageFullError` for a full disk; the
   * job then does not exist at all.
   */
  admit(spec: JobSpec, closing: boolean, slots: Slots, again?: TakenUpAgain): Admitted {
    const valid = validateJobSpec(spec);
    if (closing) throw new PoolClosedError();
    const { isolation: host, cgroups, confiner, dataDir } = this.parts;
    const limits = effectiveLimits(valid.limits, this.parts.limits.defaults, this.parts.limits.maxima);
    const network = this.isolationOptions.networkNone ? "none" : valid.network;
    if (network === "none" && !host.enabled) {
      throw new IsolationNotAvailableError(`network "none" needs isolation, and this server has none (${host.summary.replace(/^isolation: /, "")})`);
    }
    const timeoutMs = this.effectiveTimeout(valid.timeoutMs);
    cgroups.checkEnforceable(limits);
    if (isDiskFull(dataDir)) throw new StorageFullError();
    // The last check: a job it lets wait is acknowledged from here on.
    const queued = !slots.admits(valid.owner);
    const id = again?.id ?? randomUUID();
    const plan = confiner.plan(valid.owner);
    const job = new Job({
      id,
      ...(again && { createdAt: again.createdAt }),
      spec: valid,
      cwd: valid.cwd ?? this.defaultCwd,
      env: jobEnv({ ...this.baseEnv, ...(plan.home && { HOME: plan.home }) }, valid.env, id),
      files: new OutputFiles(this.parts.jobsDir, id),
      maxOutputBytes: this.maxOutputBytes,
      recordEnd: (record, from) => {
        this.parts.store.finish(record, from);
        this.observers.tell("ended", record);
      },
      recordStarted: (process) => this.parts.store.started(id, process),
      recordBegun: (deadlineAt) => this.parts.store.begun(id, deadlineAt),
      queued,
      diskFull: () => isDiskFull(dataDir),
      limits,
      confinement: plan,
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...((host.enabled || plan.runAs || plan.confinement) && {
        isolation: {
          namespaces: host.enabled ? [...(host.userNamespace ? ["user"] : []), ...JOB_NAMESPACES, ...(network === "none" ? ["net"] : [])] : [],
          network,
          ...plan.record,
        },
      }),
    });
    if (!commandResolves(job.spec.cmd, job.cwd, job.launch.env.PATH)) job.refuse(job.explainFailure());
    return { job, record: again ? this.recordAgain(job) : this.record(job, valid), timeoutMs, start: this.startContext(network, limits) };
  }

  /** A queued job taken up after a restart has its record already; one refused now (its command gone) ends there. */
  private recordAgain(job: Job): JobRecord {
    if (!job.isQueued) this.parts.store.finish(job.toRecord(), "queued");
    return publicRecord(job.toRecord());
  }

  /**
   * Writes the job's record; it is known to everyone from here (observers are told by the
   * pool, once the job is among its live ones). Its output files are made by its own first
   * process (native/jobworker-launcher.c, run_job): readers wait for them.
   */
  private record(job: Job, spec: ValidJobSpec): JobRecord {
    const record = job.toRecord();
    try {
      // A job that waits keeps its spec (env values included, which records never hold)
      // until it starts, so that a restart can take it up again (pool/queued-again.ts).
      this.parts.store.insert(record, job.isQueued ? spec : undefined);
      return publicRecord(record);
    } catch (err) {
      // Unrecorded, the job must not exist at all: nobody could ever see or stop it.
      if (isNoSpaceError(err)) throw new StorageFullError();
      throw err;
    }
  }

  private startContext(network: "host" | "none", limits: JobLimits): StartContext {
    const { cgroups, launcher, confiner, jobsDir, isolation } = this.parts;
    const perClient = this.parts.limits.perClient;
    const tmpSizeBytes = this.isolationOptions.tmpSizeBytes ?? limits.memoryBytes ?? DEFAULT_TMP_SIZE_BYTES;
    return {
      cgroups,
      launcher,
      confiner,
      fifoDir: jobsDir,
      ...(Object.keys(perClient).length > 0 && { groupOf: (job) => ({ name: groupName(job.launch.confinement.record.uid, job.spec.owner ?? ""), limits: perClient }) }),
      ...(isolation.enabled && { isolation: { network, tmpSizeBytes } }),
    };
  }

  /** The timeout a job gets: its own (within the maximum), else the default, else the maximum. */
  private effectiveTimeout(requested: number | undefined): number | undefined {
    const { defaultMs, maxMs } = this.timeouts;
    if (requested !== undefined && maxMs !== undefined && requested > maxMs) throw new TimeoutAboveMaximumError(requested, maxMs);
    return requested ?? defaultMs ?? maxMs;
  }
}
