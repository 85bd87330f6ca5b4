import { randomUUID } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { InvalidArgumentError, JobNotFoundError, PoolClosedError } from "./errors.js";
import { Job } from "./job.js";
import { defaultJobEnv, jobEnv } from "./job-env.js";
import { validateJobSpec } from "./job-spec.js";
import { OutputFiles } from "./output-files.js";
import { OutputReader } from "./output-reader.js";
import type { JobRecord, JobSpec, JobStatus, ListFilter, OutputName, PoolOptions, StreamOptions } from "./types.js";

const DEFAULT_STOP_GRACE_MS = 5000;

/**
 * The job pool: the one object through which jobs are created, observed, stopped and
 * deleted (DESIGN.md section 1).
 *
 * @example
 * const pool = await JobPool.open({ dataDir: "/var/lib/jobworker" });
 * const id = pool.create({ cmd: "ls", args: ["-la"], owner: "alice" });
 * pool.stream(id, "stdout", { follow: true }).pipe(process.stdout);
 */
export class JobPool {
  private readonly jobs = new Map<string, Job>();
  private readonly jobsDir: string;
  private readonly stopGraceMs: number;
  private readonly defaultCwd: string;
  private readonly baseEnv: Record<string, string>;
  private closing: Promise<void> | undefined;

  private constructor(options: Required<PoolOptions>) {
    this.jobsDir = join(options.dataDir, "jobs");
    this.stopGraceMs = options.stopGraceMs;
    this.defaultCwd = options.defaultCwd;
    this.baseEnv = options.baseEnv;
  }

  /** Opens a pool whose output lives under `dataDir` (created with mode 0700 if missing). */
  static async open(options: PoolOptions): Promise<JobPool> {
    const dataDir = resolve(options.dataDir);
    const stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    if (!Number.isFinite(stopGraceMs) || stopGraceMs < 0) {
      throw new InvalidArgumentError("stopGraceMs must be a non-negative number");
    }
    await mkdir(join(dataDir, "jobs"), { recursive: true, mode: 0o700 });
    return new JobPool({
      dataDir,
      stopGraceMs,
      defaultCwd: options.defaultCwd ?? tmpdir(),
      baseEnv: options.baseEnv ?? defaultJobEnv(),
    });
  }

  /**
   * Starts a job and returns its id at once. A command that cannot start still makes a
   * job, in state "error" with the reason; only an invalid spec throws
   * (`InvalidJobSpecError`), and a closed pool (`PoolClosedError`).
   */
  create(spec: JobSpec): string {
    const valid = validateJobSpec(spec);
    if (this.closing) throw new PoolClosedError();
    const id = randomUUID();
    const env = jobEnv(this.baseEnv, valid.env, id);
    const job = new Job({ id, spec: valid, cwd: valid.cwd ?? this.defaultCwd, env, files: new OutputFiles(this.jobsDir, id) });
    this.jobs.set(id, job);
    return id;
  }

  /** The job's state; throws `JobNotFoundError` for an unknown id. */
  status(id: string): JobStatus {
    return this.find(id).getStatus();
  }

  /** Resolves with the job's final status once it has ended (at once for a finished job). */
  async wait(id: string): Promise<JobStatus> {
    const job = this.find(id);
    await job.whenEnded();
    return job.getStatus();
  }

  /** The job's full record (command, times, sizes, status). */
  get(id: string): JobRecord {
    return this.find(id).toRecord();
  }

  /** All of the output written so far, both streams. Prefer `stream` for large output. */
  async output(id: string): Promise<{ stdout: Buffer; stderr: Buffer }> {
    const job = this.find(id);
    const [stdout, stderr] = await Promise.all([readOrEmpty(job.files.path("stdout")), readOrEmpty(job.files.path("stderr"))]);
    return { stdout, stderr };
  }

  /**
   * A stream of one output's raw bytes from `offset`. With `follow`, it delivers new bytes
   * as they are written and ends once the job has ended and every byte was delivered.
   */
  stream(id: string, which: OutputName, options: StreamOptions = {}): Readable {
    const job = this.find(id);
    if (which !== "stdout" && which !== "stderr") throw new InvalidArgumentError(`unknown output: ${String(which)}`);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError("offset must be a non-negative integer");
    const reader = new OutputReader(job.files.path(which), job.notifier, { offset, follow: options.follow === true });
    job.readers.add(reader);
    reader.once("close", () => job.readers.delete(reader));
    return reader;
  }

  /** Terminates the job's whole process tree (SIGTERM, grace, SIGKILL); keeps its record and output. */
  async stop(id: string): Promise<void> {
    await this.find(id).terminate(this.stopGraceMs);
  }

  /**
   * Stops the job if it runs, then removes its record and output. Resolves once all are
   * gone; concurrent deletes of the same job share that outcome.
   */
  delete(id: string): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) return Promise.reject(new JobNotFoundError(id));
    job.deleting ??= (async () => {
      await job.terminate(this.stopGraceMs);
      for (const reader of job.readers) reader.destroy(new JobNotFoundError(id));
      job.files.remove();
      this.jobs.delete(id);
    })();
    return job.deleting;
  }

  /** Records of the jobs that match, newest first. */
  list(filter: ListFilter = {}): JobRecord[] {
    const records: JobRecord[] = [];
    for (const job of this.jobs.values()) {
      if (job.deleting) continue;
      if (filter.owner !== undefined && job.spec.owner !== filter.owner) continue;
      records.push(job.toRecord());
    }
    // Map order is creation order; equal timestamps keep it, reversed.
    return records.reverse();
  }

  /** Number of running jobs, optionally of one owner (for per-client limits). */
  runningCount(owner?: string): number {
    let count = 0;
    for (const job of this.jobs.values()) {
      if (job.isRunning && (owner === undefined || job.spec.owner === owner)) count++;
    }
    return count;
  }

  /** Refuses new jobs, stops every running one and waits for them. Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.all([...this.jobs.values()].map((job) => job.terminate(this.stopGraceMs))).then(() => {});
    return this.closing;
  }

  private find(id: string): Job {
    const job = this.jobs.get(id);
    // A job being deleted is already gone for everyone but the deleters.
    if (!job || job.deleting) throw new JobNotFoundError(id);
    return job;
  }
}

async function readOrEmpty(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw err;
  }
}
