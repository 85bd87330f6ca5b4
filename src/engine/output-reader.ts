import { open, type FileHandle } from "node:fs/promises";
import { FollowingReadable } from "./following-readable.js";
import type { OutputNotifier } from "./output-notifier.js";

const CHUNK_BYTES = 64 * 1024;

/**
 * A byte stream of one output file, from any offset, optionally following it live.
 *
 * Each reader has its own file handle and position, so any number of them can read the
 * same job at their own pace: a slow one holds back nobody, and each sees every byte once,
 * in order. Backpressure is plain Readable backpressure: we read the next chunk only when
 * the consumer asks for it.
 */
export class OutputReader extends FollowingReadable {
  private handle: FileHandle | undefined;
  private position = 0;
  /** Where to start: an offset, or found in the file once it is open (tail, since). */
  private readonly start: number | ((handle: FileHandle) => Promise<number>);
  private readonly follow: boolean;
  /** Bytes past this offset are never delivered: the output cap, cut at the job's end. */
  private readonly limit: number;

  constructor(
    private readonly path: string,
    notifier: OutputNotifier,
    options: { offset: number | ((handle: FileHandle) => Promise<number>); follow: boolean; limit: number },
  ) {
    super(notifier, { highWaterMark: CHUNK_BYTES });
    this.start = options.offset;
    this.follow = options.follow;
    this.limit = options.limit;
  }

  /** Reads until the consumer is full, the file is final and exhausted, or we must wait. */
  protected async pump(): Promise<void> {
    while (!this.handle) {
      // Taken before the open, as below: a file made or a job ended meanwhile changes it.
      const seen = this.notifier.current;
      const endedBefore = this.notifier.isEnded;
      try {
        const handle = await open(this.path, "r");
        // Destroyed while it opened: _destroy found nothing to close.
        if (this.destroyed) {
          await handle.close().catch(() => {});
          return;
        }
        this.handle = handle;
        this.position = typeof this.start === "number" ? this.start : await this.start(handle);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        // No file yet: the job's first process makes it (the watch hears that). A job
        // that ended without one never started: there is nothing to read.
        if (!this.follow || endedBefore) {
          this.push(null);
          return;
        }
        await this.changeAfter(seen);
        if (this.destroyed) return;
      }
    }
    for (;;) {
      if (this.destroyed) return;
      // Both taken before the read: if the job ended before it, end of file is final;
      // if anything happens during it, the version differs and we read again.
      const seen = this.notifier.current;
      const endedBefore = this.notifier.isEnded;
      const wanted = Math.min(CHUNK_BYTES, this.limit - this.position);
      if (wanted <= 0) {
        // At the cap nothing more is delivered; a follower's stream still ends only with
        // the job (being stopped for its output now), as followers are promised.
        if (this.follow && !endedBefore) {
          await this.changeAfter(seen);
          continue;
        }
        this.push(null);
        return;
      }
      const buffer = Buffer.allocUnsafe(wanted);
      const { bytesRead } = await this.handle.read(buffer, 0, wanted, this.position);
      if (this.destroyed) return;
      if (bytesRead > 0) {
        this.position += bytesRead;
        if (!this.push(buffer.subarray(0, bytesRead))) return;
        continue;
      }
      if (!this.follow || endedBefore) {
        this.push(null);
        return;
      }
      await this.changeAfter(seen);
    }
  }

  protected async closeHandles(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
