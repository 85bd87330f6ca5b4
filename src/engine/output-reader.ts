import { open, type FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
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
export class OutputReader extends Readable {
  private handle: FileHandle | undefined;
  private position = 0;
  /** Where to start: an offset, or found in the file once it is open (tail, since). */
  private readonly start: number | ((handle: FileHandle) => Promise<number>);
  private reading = false;
  private cancelWait: (() => void) | undefined;
  private readonly follow: boolean;
  /** Bytes past this offset are never delivered: the output cap, cut at the job's end. */
  private readonly limit: number;

  constructor(
    private readonly path: string,
    private readonly notifier: OutputNotifier,
    options: { offset: number | ((handle: FileHandle) => Promise<number>); follow: boolean; limit: number },
  ) {
    super({ highWaterMark: CHUNK_BYTES });
    this.start = options.offset;
    this.follow = options.follow;
    this.limit = options.limit;
  }

  override _read(): void {
    if (this.reading) return;
    this.reading = true;
    this.pump().then(
      () => {
        this.reading = false;
      },
      (err: unknown) => {
        this.reading = false;
        this.destroy(err as Error);
      },
    );
  }

  /** Reads until the consumer is full, the file is final and exhausted, or we must wait. */
  private async pump(): Promise<void> {
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

  /** Resolves once the notifier's version differs from `seen` (a write, or the job's end). */
  private async changeAfter(seen: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.cancelWait = this.notifier.waitForChange(seen, resolve);
    });
    this.cancelWait = undefined;
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.cancelWait?.();
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return callback(err);
    handle.close().then(
      () => callback(err),
      () => callback(err),
    );
  }
}
