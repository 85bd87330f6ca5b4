import { Readable, type ReadableOptions } from "node:stream";
import type { OutputNotifier } from "./output-notifier.js";

/**
 * The loop both output readers share (output-reader.ts, output-chunks.ts): one `pump` at
 * a time while the consumer asks, a wait on the job's notifier between reads (cancelled
 * by `destroy`), and the subclass's file handles closed on destroy.
 */
export abstract class FollowingReadable extends Readable {
  private reading = false;
  private cancelWait: (() => void) | undefined;

  constructor(
    protected readonly notifier: OutputNotifier,
    options: ReadableOptions,
  ) {
    super(options);
  }

  /** Reads until the consumer is full, the output is final and exhausted, or it must wait. */
  protected abstract pump(): Promise<void>;

  /** Closes the handles the reader holds (destroy; never rejects the callback). */
  protected abstract closeHandles(): Promise<unknown>;

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

  /** Resolves once the notifier's version differs from `seen` (a write, or the job's end). */
  protected async changeAfter(seen: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.cancelWait = this.notifier.waitForChange(seen, resolve);
    });
    this.cancelWait = undefined;
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.cancelWait?.();
    this.closeHandles().then(
      () => callback(err),
      () => callback(err),
    );
  }
}
