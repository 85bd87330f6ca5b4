import { JobNotFoundError } from "../errors.js";
import type { Job, StopReason } from "../job.js";
import type { JobStore, StoredJob } from "../job-store.js";
import type { OutputName } from "../types.js";

/** A job as the pool finds it: running under our supervision, or a record on disk. */
export type Found = { job: Job; record?: undefined } | { job?: undefined; record: StoredJob };

/**
 * The jobs whose processes the pool supervises (starting or running) until their end is
 * recorded, and the deletions in progress: a job being deleted is already gone for
 * everyone but its deleters.
 */
export class LiveJobs {
  private readonly jobs = new Map<string, Job>();
  private readonly deletions = new Map<string, Promise<void>>();

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  has(id: string): boolean {
    return this.jobs.has(id);
  }

  all(): Job[] {
    return [...this.jobs.values()];
  }

  /** Holds a job (queued, starting or running) until it ends. */
  add(job: Job): void {
    this.jobs.set(job.id, job);
    void job.whenEnded().then(() => this.jobs.delete(job.id));
  }

  /** With a timeout, stops the job (as `stop` does) at its deadline: armed when it starts, not when it was queued. */
  armTimeout(job: Job, timeoutMs: number | undefined, stop: (job: Job, reason: StopReason) => Promise<void>): void {
    if (timeoutMs === undefined) return;
    // One timer per job with a timeout, cleared when it ends.
    const timer = setTimeout(() => void stop(job, "timeout"), timeoutMs).unref();
    void job.whenEnded().then(() => clearTimeout(timer));
  }

  /**
   * The job of `id`: live, else its record in `store`. `JobNotFoundError` for an unknown
   * id, a non-string, and a job being deleted (already gone for all but its deleters).
   */
  find(id: string, store: JobStore): Found {
    if (typeof id !== "string" || this.deletions.has(id)) throw new JobNotFoundError(String(id));
    const job = this.jobs.get(id);
    if (job) return { job };
    const record = store.get(id);
    if (!record) throw new JobNotFoundError(id);
    return { record };
  }

  isDeleting(id: string): boolean {
    return this.deletions.has(id);
  }

  /** The deletion of the job in progress, if there is one. */
  deletion(id: string): Promise<void> | undefined {
    return this.deletions.get(id);
  }

  /** Runs `remove` once per job: concurrent deletes of the same job share its outcome. */
  delete(id: string, remove: () => Promise<void>): Promise<void> {
    const inProgress = this.deletions.get(id);
    if (inProgress) return inProgress;
    const deletion = remove().finally(() => this.deletions.delete(id));
    this.deletions.set(id, deletion);
    return deletion;
  }

  /** Settles once every deletion begun so far has. */
  async deletionsSettled(): Promise<void> {
    await Promise.allSettled([...this.deletions.values()]);
  }

  /** Bytes written so far by the running jobs, per stream (each capped as its record is). */
  runningOutputBytes(): Record<OutputName, number> {
    const total = { stdout: 0, stderr: 0 };
    for (const job of this.jobs.values()) {
      if (!job.isRunning) continue;
      const { stdoutBytes, stderrBytes } = job.toRecord();
      total.stdout += stdoutBytes;
      total.stderr += stderrBytes;
    }
    return total;
  }
}
