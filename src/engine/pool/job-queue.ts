import { InvalidArgumentError, TooManyJobsError } from "../errors.js";
import type { Job } from "../job.js";
import type { QueueOptions } from "../types.js";

function bound(value: number | undefined, name: string, least: number): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < least)) throw new InvalidArgumentError(`queue.${name} must be an integer of at least ${least}, not ${value}`);
  return value;
}

/** A job waiting for its slot, and how to start it. */
interface Waiting {
  job: Job;
  start: () => void;
}

/** Most jobs one identity may have waiting unless told otherwise: a bound, not a buffer without end. */
export const DEFAULT_MAX_QUEUED_PER_OWNER = 1000;

/**
 * Who may start when (`JobPool.create` and every job's end): the one choke point of the
 * slots. Each identity has at most `maxRunningPerOwner` jobs running, the whole pool at
 * most `maxRunning`; the rest wait, each identity's in submission order, at most
 * `maxQueuedPerOwner` of them (beyond that, `TooManyJobsError`). When a slot frees,
 * identities take turns (round robin): one identity's 1,000 queued jobs never starve
 * another's one. pueue's groups and task-spooler's slots are the model.
 *
 * It counts the running jobs itself (a job counts from its start until its end), so that
 * every decision costs O(identities), never O(jobs).
 */
export class JobQueue {
  private readonly perOwner: number;
  private readonly total: number;
  private readonly maxQueued: number;
  /** Each identity's waiting jobs, in submission order (a Map keeps insertion order). */
  private readonly waiting = new Map<string, Map<string, Waiting>>();
  /**
   * When each identity with jobs running or waiting was last given a slot (a counter):
   * the turn goes to the waiting identity served longest ago, one never served first.
   */
  private readonly lastServed = new Map<string, number>();
  private serves = 0;
  private readonly runningPerOwner = new Map<string, number>();
  private runningTotal = 0;
  private closed = false;

  constructor(options: QueueOptions) {
    this.perOwner = bound(options.maxRunningPerOwner, "maxRunningPerOwner", 1) ?? Infinity;
    this.total = bound(options.maxRunning, "maxRunning", 1) ?? Infinity;
    this.maxQueued = bound(options.maxQueuedPerOwner, "maxQueuedPerOwner", 0) ?? DEFAULT_MAX_QUEUED_PER_OWNER;
  }

  /** The slots in one line, for the operator (`serve` prints it). */
  summary(): string {
    if (this.perOwner === Infinity && this.total === Infinity) return "queue: none; every job starts at once";
    const each = this.perOwner === Infinity ? "no bound per client" : `each client runs at most ${this.perOwner} jobs at once`;
    const all = this.total === Infinity ? "" : `, the server at most ${this.total} (clients take turns)`;
    const wait = this.maxQueued === 0 ? "; beyond that, jobs are refused (429)" : `; up to ${this.maxQueued} more per client wait, queued, then 429`;
    return `queue: ${each}${all}${wait}`;
  }

  /**
   * Whether a new job of `owner` starts at once (true) or waits (false). Throws
   * `TooManyJobsError` when it could do neither: nothing was changed then.
   */
  admits(owner: string): boolean {
    if (this.hasSlot(owner) && !this.waiting.has(owner)) return true;
    if (this.queuedCount(owner) >= this.maxQueued) throw new TooManyJobsError(this.perOwner, this.maxQueued);
    return false;
  }

  /** Runs `job` now with `start` (its slot taken), as `admits` said it may. */
  startNow(job: Job, start: () => void): void {
    this.take(job);
    start();
  }

  /** Puts `job` at the back of its identity's queue, to run with `start`; then lets out whatever may start. */
  enqueue(job: Job, start: () => void): void {
    const owner = job.spec.owner;
    let jobs = this.waiting.get(owner);
    if (!jobs) {
      jobs = new Map();
      this.waiting.set(owner, jobs);
    }
    jobs.set(job.id, { job, start });
    this.release();
  }

  /** Takes a waiting job out of the queue (its cancellation); false if it was not waiting. */
  remove(job: Job): boolean {
    const jobs = this.waiting.get(job.spec.owner);
    if (!jobs?.delete(job.id)) return false;
    if (jobs.size === 0) this.waiting.delete(job.spec.owner);
    return true;
  }

  /** 1 for the next of its identity's jobs to start, and so on; undefined when it is not waiting. */
  position(job: Job): number | undefined {
    const jobs = this.waiting.get(job.spec.owner);
    if (!jobs?.has(job.id)) return undefined;
    let position = 1;
    for (const id of jobs.keys()) {
      if (id === job.id) return position;
      position++;
    }
    return undefined;
  }

  runningCount(owner?: string): number {
    return owner === undefined ? this.runningTotal : (this.runningPerOwner.get(owner) ?? 0);
  }

  /** Running jobs per identity (for the metrics); identities with none are absent. */
  runningByOwner(): Map<string, number> {
    return new Map(this.runningPerOwner);
  }

  queuedCount(owner: string): number {
    return this.waiting.get(owner)?.size ?? 0;
  }

  /** Waiting jobs per identity (for the metrics); identities with none are absent. */
  queuedByOwner(): Map<string, number> {
    return new Map([...this.waiting].map(([owner, jobs]) => [owner, jobs.size]));
  }

  /** Lets nothing more start (the pool closes): what waits stays waiting, on disk. */
  close(): Job[] {
    this.closed = true;
    const left = [...this.waiting.values()].flatMap((jobs) => [...jobs.values()].map((waiting) => waiting.job));
    this.waiting.clear();
    return left;
  }

  /** Starts waiting jobs while slots allow, one identity's turn at a time. */
  private release(): void {
    while (!this.closed && this.runningTotal < this.total) {
      const owner = this.nextTurn();
      if (owner === undefined) return;
      const jobs = this.waiting.get(owner)!;
      const [id, { job, start }] = jobs.entries().next().value as [string, Waiting];
      jobs.delete(id);
      if (jobs.size === 0) this.waiting.delete(owner);
      this.startNow(job, start);
    }
  }

  /** The waiting identity with a free slot that was served longest ago (ties: the one that began waiting first). */
  private nextTurn(): string | undefined {
    let next: string | undefined;
    let nextServed = Infinity;
    for (const owner of this.waiting.keys()) {
      const served = this.lastServed.get(owner) ?? -1;
      if (served < nextServed && this.hasSlot(owner)) {
        next = owner;
        nextServed = served;
      }
    }
    return next;
  }

  private hasSlot(owner: string): boolean {
    return this.runningTotal < this.total && this.runningCount(owner) < this.perOwner;
  }

  /** The job holds a slot until it ends; then the next may start. */
  private take(job: Job): void {
    const owner = job.spec.owner;
    this.runningTotal++;
    this.runningPerOwner.set(owner, this.runningCount(owner) + 1);
    this.lastServed.set(owner, ++this.serves);
    void job.whenEnded().then(() => {
      this.runningTotal--;
      const left = this.runningCount(owner) - 1;
      if (left === 0) this.runningPerOwner.delete(owner);
      else this.runningPerOwner.set(owner, left);
      // An identity with nothing running or waiting is forgotten: the map stays as small as the active set.
      if (left === 0 && !this.waiting.has(owner)) this.lastServed.delete(owner);
      this.release();
    });
  }
}
