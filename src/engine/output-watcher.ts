import { watch, type FSWatcher } from "node:fs";
import { OutputFiles } from "./output-files.js";

/**
 * One inotify watch on the jobs directory, for the whole pool: every write of every
 * job's output files arrives here as an event naming the file, and is passed on as "job
 * X's output changed". One watch set up at start costs nothing per job, where a watch per
 * job cost about a millisecond of the event loop at each start.
 *
 * An event without a name (the kernel's queue overflowed) or a watch error could hide a
 * change, so both are passed on as "every job may have changed": a spurious wake-up costs
 * a follower one read; a lost one would stall it.
 */
export class OutputWatcher {
  private watcher: FSWatcher | undefined;
  private closed = false;

  constructor(
    private readonly jobsDir: string,
    private readonly onChange: (jobId: string) => void,
    private readonly onAnyChange: () => void,
  ) {
    this.start();
  }

  private start(): void {
    this.watcher = watch(this.jobsDir, { persistent: false }, (_event, fileName) => {
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

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
  }
}
