import type { FileHandle } from "node:fs/promises";
import type { StreamIndex, TimesView } from "./output-times.js";

const BLOCK_BYTES = 64 * 1024;

/** Where reading starts: by lines from the end, by capture time, or both (the later wins). */
export interface SeekOptions {
  /** The last `tail` lines (0: none, only what comes next). */
  tail?: number;
  /** Output captured at or after this time (ms since the epoch). */
  since?: number;
}

/**
 * The offset in each stream at which reading starts, for the streams in `handles` (the
 * others are left at their end). Lines are counted across the given streams in capture
 * order, as one log: `tail` of both streams is the last lines of the two interleaved.
 * Memory stays at one block whatever the output's size; a stream without newlines is
 * read backwards to its start.
 */
export async function seekStarts(view: TimesView, handles: readonly (FileHandle | undefined)[], options: SeekOptions, limit: number): Promise<[number, number]> {
  const ends: [number, number] = [Math.min(view.seen[0], limit), Math.min(view.seen[1], limit)];
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
 * Walks the entries backwards counting line starts (the byte after a newline that is not
 * a stream's last byte). The result for the other stream is where it stood in capture
 * order at the line's first byte.
 */
async function tailStartsOf(view: TimesView, handles: readonly (FileHandle | undefined)[], lines: number, ends: [number, number]): Promise<[number, number]> {
  if (lines === 0) return [...ends];
  const position: [number, number] = [...ends];
  // Where the other stream stood at the start of the later entry of each stream.
  const atLater: [[number, number], [number, number]] = [[...ends], [...ends]];
  let counted = 0;
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  for (let j = view.entries.length - 1; j >= 0; j--) {
    const entry = view.entries[j]!;
    const stream: StreamIndex = entry.stream;
    const handle = handles[stream];
    if (!handle) continue;
    const from = Math.min(entry.start, ends[stream]);
    const entryEnd = Math.min(entry.end, ends[stream]);
    let to = entryEnd;
    while (to > from) {
      const size = Math.min(BLOCK_BYTES, to - from);
      const { bytesRead } = await handle.read(block, 0, size, to - size);
      if (bytesRead < size) break;
      for (let i = block.lastIndexOf(10, size - 1); i >= 0; i = i > 0 ? block.lastIndexOf(10, i - 1) : -1) {
        const lineStart = to - size + i + 1;
        if (lineStart >= ends[stream]) continue;
        if (++counted === lines) {
          const other = lineStart < entryEnd ? position : atLater[stream];
          const result: [number, number] = [...other];
          result[stream] = lineStart;
          return result;
        }
      }
      to -= size;
    }
    atLater[stream] = [...position];
    position[stream] = from;
  }
  return [0, 0];
}
