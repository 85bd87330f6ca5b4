import { open, type FileHandle } from "node:fs/promises";

/**
 * Group commit for SQLite in WAL mode with `synchronous=NORMAL`: commits are written to
 * the WAL at once (safe against a crash of the process) and made safe against power
 * loss by an fsync of the WAL that runs off the main thread and is shared by every commit
 * made before it starts. Callers that acknowledge something (the server answering
 * `PUT /jobs`) await `sync()` first; the event loop never blocks on the disk.
 */
export class WalSync {
  private handle: FileHandle | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  /** How many fsyncs ran (for tests: concurrent callers share them). */
  syncs = 0;

  constructor(private readonly walPath: string) {}

  /** Resolves once every commit made before this call is on disk. */
  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.fsync().finally(() => (this.running = undefined));
      return this.running;
    }
    // A sync is already under way, but it may have started before our commit: queue one
    // more, to start when it ends, and share it with everyone who arrives meanwhile.
    this.queued ??= this.running.then(
      () => {
        this.queued = undefined;
        return this.sync();
      },
      () => {
        this.queued = undefined;
        return this.sync();
      },
    );
    return this.queued;
  }

  private async fsync(): Promise<void> {
    // The WAL exists from the first commit on, and SQLite reuses it rather than replace it
    // while the database is open, so one handle serves until close.
    this.handle ??= await open(this.walPath, "r");
    await this.handle.sync();
    this.syncs++;
  }

  async close(): Promise<void> {
    await this.running?.catch(() => {});
    await this.handle?.close();
    this.handle = undefined;
  }
}
