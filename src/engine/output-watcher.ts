import { readFileSync, watch, type FSWatcher } from "node:fs";
import { OutputFiles } from "./output-files.js";

/** How fast events are taken under load (docs/design.md, "A flood costs little"). */
export interface WatchRate {
  /** This many events within `pauseMs` of the first of them count as load (default 8). */
  burstEvents?: number;
  /** Under load, the watch rests this long, then every job is looked at once (default 20 ms). */
  pauseMs?: number;
}

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
 *
 * Under load the events are bounded, not just the reaction to each: a job writing 1 GiB
 * in 8 KiB writes makes 131,072 events. Once `burstEvents` arrive within `pauseMs`, the
 * watch is removed for `pauseMs` (the kernel then makes no events at all) and put back,
 * and every job is passed on as changed: whatever was written meanwhile is found by its
 * size, so nothing is lost and followers are woken at most `pauseMs` late. At rest every
 * event is passed on at once.
 */
export class OutputWatcher {
  private watcher: FSWatcher | undefined;
  private closed = false;
  /** Events delivered in the current turn of the event loop. */
  private eventsThisTurn = 0;
  private readonly overflowSuspectedAt: number;
  private readonly burstEvents: number;
  private readonly pauseMs: number;
  /** Events since `burstStartedAt`. */
  private burst = 0;
  private burstStartedAt = 0;
  private resumeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly jobsDir: string,
    private readonly onChange: (jobId: string) => void,
    private readonly onAnyChange: () => void,
    /** Events in one turn that count as a possible overflow (default: 90% of the kernel's queue). */
    overflowSuspectedAt = Math.floor(maxQueuedEvents() * 0.9),
    rate: WatchRate = {},
  ) {
    this.overflowSuspectedAt = overflowSuspectedAt;
    this.burstEvents = rate.burstEvents ?? 8;
    this.pauseMs = rate.pauseMs ?? 20;
    this.start();
  }

  private start(): void {
    this.watcher = watch(this.jobsDir, { persistent: false }, (_event, fileName) => {
      if (!this.watcher) return; // events of a batch read before the watch was removed
      // libuv delivers all queued events in one turn; count them until the turn ends.
      if (this.eventsThisTurn++ === 0) setImmediate(() => this.endTurn());
      this.countForLoad();
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

  /** Removes the watch for `pauseMs` once events come in a burst. */
  private countForLoad(): void {
    const now = performance.now();
    if (now - this.burstStartedAt > this.pauseMs) {
      this.burstStartedAt = now;
      this.burst = 0;
    }
    if (++this.burst < this.burstEvents || this.closed) return;
    this.watcher?.close();
    this.watcher = undefined;
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      this.burst = 0;
      if (this.closed) return;
      try {
        this.start();
      } catch {
        return; // The directory is gone: the pool is being torn down.
      }
      // Writes made while unwatched made no events: find them by their sizes.
      this.onAnyChange();
    }, this.pauseMs).unref();
  }

  private endTurn(): void {
    if (this.eventsThisTurn >= this.overflowSuspectedAt) this.onAnyChange();
    this.eventsThisTurn = 0;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.resumeTimer);
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
