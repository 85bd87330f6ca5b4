import type { JobStore } from "./job-store.js";
import type { RetentionPolicy } from "./types.js";

const BATCH = 200;
const MAX_INTERVAL_MS = 60_000;
const MIN_INTERVAL_MS = 1_000;

/**
 * Removes finished jobs past the retention policy, in the background: a sweep at start
 * and then periodically (age-based retention is about the clock, so here a timer is the
 * event). Each sweep deletes in batches through the pool's own `delete` and yields between
 * batches, so requests are never held up behind it.
 */
export class RetentionSweeper {
  private readonly timer: NodeJS.Timeout;
  private sweeping: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: JobStore,
    private readonly policy: RetentionPolicy,
    private readonly deleteJob: (id: string) => Promise<void>,
  ) {
    const interval = Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, (policy.maxAgeMs ?? MAX_INTERVAL_MS) / 10));
    this.timer = setInterval(() => void this.sweep(), interval).unref();
    void this.sweep();
  }

  /** One pass; concurrent calls share it. Resolves with the pass done. */
  sweep(): Promise<void> {
    this.sweeping ??= this.run().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const endedBefore = this.policy.maxAgeMs === undefined ? undefined : Date.now() - this.policy.maxAgeMs;
      const ids = this.store.expired({ endedBefore, keep: this.policy.maxCount, batch: BATCH });
      if (ids.length === 0) return;
      // A job deleted meanwhile by its owner is simply gone already.
      const results = await Promise.allSettled(ids.map((id) => this.deleteJob(id)));
      // A batch of which nothing could be deleted (a full disk refusing every delete)
      // would come back the same forever: end this pass; the next tick tries again.
      if (results.every((result) => result.status === "rejected")) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
