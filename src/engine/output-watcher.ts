import { readFileSync, watch, type FSWatcher } from "node:fs";
import { OutputFiles } from "./output-files.js";

/**
 * One inotify watch on the jobs directory, for the whole pool: every write of every
 * job's output files arrives here as an event naming the file, and is passed on as "job
 * X's output changed". One watch set up at start costs nothing per job, where a watch per
 * job cost about a millisecond of the event loop at each start.
 *
 * When the kernel's event queue overflows, events are lost, and libuv drops the overflow
 * notice itself. So we count: a loop turn that delivered nearly a full queue of events
 * may have lost some, and is passed on as "every job may have changed", as is a watch
 * error. A spurious wake-up costs a follower one read; a lost one would stall it.
 */
export class OutputWatcher {
  private watcher: FSWatcher | undefined;
  private closed = false;
  /** Events delivered in the current turn of the event loop. */
  private eventsThisTurn = 0;
  private readonly overflowSuspectedAt: number;

  constructor(
    private readonly jobsDir: string,
    private readonly onChange: (jobId: string) => void,
    private readonly onAnyChange: () => void,
    /** Events in one turn that count as a possible overflow (default: 90% of the kernel's queue). */
    overflowSuspectedAt = Math.floor(maxQueuedEvents() * 0.9),
  ) {
    this.overflowSuspectedAt = overflowSuspectedAt;
    this.start();
  }

  private start(): void {
    this.watcher = watch(this.jobsDir, { persistent: false }, (_event, fileName) => {
      // libuv delivers all queued events in one turn; count them until the turn ends.
      if (this.eventsThisTurn++ === 0) setImmediate(() => this.endTurn());
      const parsed = fileName ? OutputFiles.parseName(fileName.toString()) : undefined;
      if (parsed) this.onChange(parsed.jobId);
      else if (!fileName) this.onAnyChange();
    });
    this.watcher.on("error", () => {
      this.watcher?.close();
      this.watcher = undefined;
      if (this.closed) return;
      try {
        this.start();
      } catch {
        // The directory is gone: the pool is being torn down.
      }
      this.onAnyChange();
    });
  }

  private endTurn(): void {
    if (this.eventsThisTurn >= this.overflowSuspectedAt) this.onAnyChange();
    this.eventsThisTurn = 0;
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/** The kernel's inotify queue length (fs.inotify.max_queued_events; 16384 by default). */
function maxQueuedEvents(): number {
  try {
    const value = Number(readFileSync("/proc/sys/fs/inotify/max_queued_events", "latin1").trim());
    return value > 0 ? value : 16384;
  } catch {
    return 16384;
  }
}
