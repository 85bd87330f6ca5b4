import type { FileHandle } from "node:fs/promises";
import type { StreamIndex, TimesView } from "./output-times.js";

const BLOCK_BYTES = 64 * 1024;

/** Where reading starts: by lines from the end, by capture time, or both (the later wins). */
export interface SeekOptions {
  /** The last `tail` lines (0: none, only what comes next). */
  tail?: number;
  /** Output captured at or after this time (ms since the epoch). */
  since?: number;
  /** Where each stream ended when the reader was asked for: the seek looks no further. */
  until?: readonly [number, number];
}

/**
 * The offset in each stream at which reading starts, for the streams in `handles` (the
 * others are left at their end). Lines are counted across the given streams in capture
 * order, as one log: `tail` of both streams is the last lines of the two interleaved.
 * Memory stays at one block whatever the output's size; a stream without newlines is
 * read backwards to its start.
 */
export async function seekStarts(view: TimesView, handles: readonly (FileHandle | undefined)[], options: SeekOptions, limit: number): Promise<[number, number]> {
  const until = options.until ?? [Infinity, Infinity];
  const ends: [number, number] = [Math.min(view.seen[0], until[0], limit), Math.min(view.seen[1], until[1], limit)];
  const starts: [number, number] = [0, 0];
  if (options.since !== undefined) {
    for (const stream of [0, 1] as const) {
      const first = view.entries.find((e) => e.stream === stream && e.time >= options.since!);
      starts[stream] = first ? Math.min(first.start, ends[stream]) : ends[stream];
    }
  }
  if (options.tail !== undefined) {
    const tailStarts = await tailStartsOf(view, handles, options.tail, ends);
    for (const stream of [0, 1] as const) starts[stream] = Math.max(starts[stream], tailStarts[stream]);
  }
  for (const stream of [0, 1] as const) if (!handles[stream]) starts[stream] = ends[stream];
  return starts;
}

/**
 * Walks the entries backwards counting line starts: a stream's first byte, and each byte
 * after a newline. Each is counted at the entry that holds it, so the count follows
 * capture order; the other stream's start is where it stood at that entry.
 */
async function tailStartsOf(view: TimesView, handles: readonly (FileHandle | undefined)[], lines: number, ends: [number, number]): Promise<[number, number]> {
  if (lines === 0) return [...ends];
  // How far each stream is delivered before the entry being looked at, in capture order.
  const position: [number, number] = [...ends];
  let counted = 0;
  const found = (stream: StreamIndex, lineStart: number): [number, number] | undefined => {
    if (++counted < lines) return undefined;
    const result: [number, number] = [...position];
    result[stream] = lineStart;
    return result;
  };
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  for (let j = view.entries.length - 1; j >= 0; j--) {
    const entry = view.entries[j]!;
    const stream: StreamIndex = entry.stream;
    const handle = handles[stream];
    const from = Math.min(entry.start, ends[stream]);
    const entryEnd = Math.min(entry.end, ends[stream]);
    if (!handle || entryEnd <= from) continue;
    // Newlines inside the entry; one on its last byte starts a line in a later entry, or none.
    for (let to = entryEnd; to > from; ) {
      const size = Math.min(BLOCK_BYTES, to - from);
      const { bytesRead } = await handle.read(block, 0, size, to - size);
      if (bytesRead < size) break;
      for (let i = block.lastIndexOf(10, size - 1); i >= 0; i = i > 0 ? block.lastIndexOf(10, i - 1) : -1) {
        const lineStart = to - size + i + 1;
        if (lineStart >= entryEnd) continue;
        const result = found(stream, lineStart);
        if (result) return result;
      }
      to -= size;
    }
    // The entry's first byte starts a line if it is the stream's first or follows a newline.
    let startsLine = from === 0;
    if (!startsLine) {
      const { bytesRead } = await handle.read(block, 0, 1, from - 1);
      startsLine = bytesRead === 1 && block[0] === 10;
    }
    if (startsLine) {
      const result = found(stream, from);
      if (result) return result;
    }
    position[stream] = from;
  }
  return [0, 0];
}
