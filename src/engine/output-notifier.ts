/**
 * Tells followers of a running job that its output may have grown, without polling.
 *
 * The job writes its files directly, so the server learns of new bytes through inotify
 * (one watch on the jobs directory for the whole pool, see `OutputWatcher`), which calls
 * `changed()`. Every change, and the job's end, bumps `version`. A follower takes the
 * version *before* it reads to end of file and then waits for a different one: a write
 * that lands between its last read and its wait has already changed the version, so no
 * wake-up can be lost.
 */
export class OutputNotifier {
  private version = 0;
  private ended = false;
  private readonly waiters = new Set<() => void>();

  /** `onChange`, if given, hears of every change too (the output-limit check). */
  constructor(private readonly onChange?: () => void) {}

  /** A notifier for a job that has already ended: nothing will ever change. */
  static forEndedJob(): OutputNotifier {
    const notifier = new OutputNotifier();
    notifier.ended = true;
    return notifier;
  }

  /** The current version; compare with a later one to learn whether anything changed. */
  get current(): number {
    return this.version;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Calls `onChange` once the version differs from `seen` or the job has ended. Returns a
   * function that cancels the wait (for a reader destroyed while waiting).
   */
  waitForChange(seen: number, onChange: () => void): () => void {
    if (this.version !== seen || this.ended) {
      queueMicrotask(onChange);
      return () => {};
    }
    this.waiters.add(onChange);
    return () => this.waiters.delete(onChange);
  }

  /** The job's output may have grown. */
  changed(): void {
    this.version++;
    this.onChange?.();
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake();
  }

  /** The job has ended: its files are final. Wakes every follower. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.changed();
  }
}
