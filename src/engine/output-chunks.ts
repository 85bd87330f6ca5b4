import { open, type FileHandle } from "node:fs/promises";
import { FollowingReadable } from "./following-readable.js";
import type { OutputNotifier } from "./output-notifier.js";
import { seekStarts, type SeekOptions } from "./output-seek.js";
import { STREAMS, type TimesView } from "./output-times.js";
import type { OutputName } from "./types.js";

const CHUNK_BYTES = 64 * 1024;

/** Bytes of one stream, captured at `time` (ms since the epoch). */
export interface OutputChunk {
  stream: OutputName;
  time: number;
  data: Buffer;
}

/** Options of {@link ChunkReader}. */
export interface ChunkReaderOptions {
  follow: boolean;
  /** Bytes past this offset of a stream are never delivered (the output cap). */
  limit: number;
  /** Where to start: `offset` (one stream only), else by tail and since (from the start without). */
  offset?: number;
  seek: SeekOptions;
}

/**
 * Output as chunks in capture order, each with its stream and capture time, read from
 * the output files as far as the side index covers them (so that a later chunk was never
 * captured before an earlier one). Reads one or both streams (`paths` holds undefined for
 * a stream not read); follows a running job as `OutputReader` does, woken by its notifier
 * after the index has taken the new sizes. Object mode, a few chunks of buffer: memory is
 * bounded whatever the output's size.
 */
export class ChunkReader extends FollowingReadable {
  private handles: (FileHandle | undefined)[] = [];
  private delivered: [number, number] = [0, 0];
  private view: TimesView | undefined;
  private cursor = 0;
  private generation = 0;

  constructor(
    private readonly paths: readonly [string | undefined, string | undefined],
    notifier: OutputNotifier,
    private readonly viewOf: () => TimesView | Promise<TimesView>,
    private readonly options: ChunkReaderOptions,
  ) {
    super(notifier, { objectMode: true, highWaterMark: 4 });
  }

  private async prepare(): Promise<TimesView> {
    // The index first: every stream it covers has its file by now (the job's first
    // process makes the files before it writes), so the handles below cover it all.
    const view = await this.viewOf();
    const handles = await Promise.all(this.paths.map((path) => (path === undefined ? undefined : openOrNone(path))));
    if (this.destroyed) {
      // Destroyed while opening: _destroy saw none of these.
      await Promise.allSettled(handles.map((h) => h?.close()));
      return { entries: [], seen: [0, 0], generation: 0 };
    }
    this.handles = handles;
    const { offset, seek, limit } = this.options;
    this.delivered = offset !== undefined ? [offset, offset] : await seekStarts(view, this.handles, seek, limit);
    this.generation = view.generation;
    this.view = view;
    return view;
  }

  /** The handle of a stream read; opened on first need when its file did not exist yet. */
  private async handleOf(stream: 0 | 1): Promise<FileHandle | undefined> {
    const path = this.paths[stream];
    if (this.handles[stream] || path === undefined) return this.handles[stream];
    const handle = await openOrNone(path);
    if (this.destroyed) await handle?.close();
    else this.handles[stream] = handle;
    return this.handles[stream];
  }

  protected async pump(): Promise<void> {
    const view = this.view ?? (await this.prepare());
    for (;;) {
      if (this.destroyed) return;
      const seen = this.notifier.current;
      const endedBefore = this.notifier.isEnded;
      const next = this.next(view);
      if (next) {
        const { stream, from, to, time } = next;
        const handle = await this.handleOf(stream);
        if (this.destroyed) return;
        const size = Math.min(CHUNK_BYTES, to - from);
        const buffer = Buffer.allocUnsafe(size);
        const { bytesRead } = handle ? await handle.read(buffer, 0, size, from) : { bytesRead: 0 };
        if (this.destroyed) return;
        // A file shorter than its index says (cut at the cap): nothing more of that entry.
        this.delivered[stream] = bytesRead > 0 ? from + bytesRead : to;
        if (bytesRead > 0 && !this.push({ stream: STREAMS[stream], time, data: buffer.subarray(0, bytesRead) } satisfies OutputChunk)) return;
        continue;
      }
      if (!this.options.follow || endedBefore) {
        this.push(null);
        return;
      }
      await this.changeAfter(seen);
    }
  }

  /** The next bytes to deliver, in capture order; undefined when all that is covered was delivered. */
  private next(view: TimesView): { stream: 0 | 1; from: number; to: number; time: number } | undefined {
    if (view.generation !== this.generation) {
      // Entries merged: find our place again (delivered offsets say what was sent).
      this.generation = view.generation;
      this.cursor = 0;
    }
    const { entries } = view;
    while (this.cursor < entries.length) {
      const entry = entries[this.cursor]!;
      const to = Math.min(entry.end, this.options.limit);
      const from = Math.max(entry.start, this.delivered[entry.stream]);
      if (this.paths[entry.stream] !== undefined && from < to) return { stream: entry.stream, from, to, time: entry.time };
      // Never past the last entry: it may still grow.
      if (this.cursor === entries.length - 1) return undefined;
      this.cursor++;
    }
    return undefined;
  }

  protected async closeHandles(): Promise<void> {
    const handles = this.handles;
    this.handles = [];
    await Promise.allSettled(handles.map((h) => h?.close()));
  }
}

/** A file opened for reading, or undefined when it does not exist (the job never started). */
async function openOrNone(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
