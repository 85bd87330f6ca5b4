import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { closeQuietly, TIMES_DIR } from "./output-files.js";
import type { OutputName } from "./types.js";

/** Stream numbers as the index stores them. */
export const STREAMS = ["stdout", "stderr"] as const satisfies readonly OutputName[];
export type StreamIndex = 0 | 1;

/** Bytes [start, end) of one stream, first seen at `time` (ms since the epoch). */
export interface TimeEntry {
  stream: StreamIndex;
  start: number;
  end: number;
  time: number;
}

/**
 * What readers of times need: the entries in capture order, and how far each stream is
 * covered. Only the last entry can still grow; `generation` changes when entries merge.
 */
export interface TimesView {
  readonly entries: readonly TimeEntry[];
  readonly seen: readonly [number, number];
  readonly generation: number;
}

/**
 * Most entries one job's index holds (16 bytes each on disk: 256 KiB). At the bound,
 * every second entry of each stream merges into the one before it (its bytes take the
 * earlier time) and new entries come no closer than the merged spacing: the index keeps
 * covering the whole output, at a coarser grain.
 */
export const MAX_TIME_ENTRIES = 16384;
const MAGIC = Buffer.from("JWTIMES1");
const ENTRY_BYTES = 16;

/**
 * The side index of a job's output: for each append the output watcher sees, (stream,
 * offset, time). Written as the appends are seen, to `<id>.times` beside the output
 * (docs/design.md, "Output times"); the output files stay byte-exact. Held in memory
 * while the job runs; read back from the file once it has ended, also after a restart.
 */
export class OutputTimes implements TimesView {
  private readonly list: TimeEntry[] = [];
  private readonly covered: [number, number] = [0, 0];
  private fd: number | undefined;
  /** A write failed (disk full): the index stays in memory; readers of the file cover the rest. */
  private failed = false;
  private closed = false;
  /** New entries of a stream come at least this far apart (ms); grows with each merge. */
  private spacingMs = 0;
  private gen = 0;

  constructor(private readonly path: string) {}

  get entries(): readonly TimeEntry[] {
    return this.list;
  }

  get seen(): readonly [number, number] {
    return this.covered;
  }

  get generation(): number {
    return this.gen;
  }

  /** The files have these sizes now: the bytes past what was covered were captured now. Says whether any were. */
  sample(sizes: readonly [number, number], now = Date.now()): boolean {
    if (this.closed) return false;
    let grew = false;
    for (const stream of [0, 1] as const) {
      const size = sizes[stream];
      const from = this.covered[stream];
      if (size <= from) continue;
      grew = true;
      this.covered[stream] = size;
      const last = this.list.at(-1);
      // Only the very last entry grows, so entries stay in capture order across streams.
      if (last && last.stream === stream && now - last.time <= this.spacingMs) {
        last.end = size;
        continue;
      }
      const entry: TimeEntry = { stream, start: from, end: size, time: now };
      this.list.push(entry);
      if (this.list.length >= MAX_TIME_ENTRIES) this.coarsen();
      else this.append([entry]);
    }
    return grew;
  }

  /** No more samples (the job has ended): releases the file. */
  close(): void {
    this.closed = true;
    if (this.fd !== undefined) closeQuietly(this.fd);
    this.fd = undefined;
  }

  private append(entries: readonly TimeEntry[]): void {
    if (this.failed) return;
    try {
      if (this.fd === undefined) {
        mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
        this.fd = openSync(this.path, "a", 0o600);
        if (statSync(this.path).size === 0) writeSync(this.fd, MAGIC);
      }
      writeSync(this.fd, encode(entries));
    } catch {
      this.failed = true;
    }
  }

  /** Merges every second entry of each stream into the one before it; rewrites the file. */
  private coarsen(): void {
    const span = this.list.at(-1)!.time - this.list[0]!.time;
    const kept = mergeAlternate(this.list);
    this.list.splice(0, this.list.length, ...kept);
    this.spacingMs = Math.max(1, 2 * this.spacingMs, span / kept.length);
    this.gen++;
    if (this.failed) return;
    try {
      const temporary = `${this.path}.new`;
      const fd = openSync(temporary, "w", 0o600);
      try {
        writeSync(fd, Buffer.concat([MAGIC, encode(kept)]));
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, this.path);
      if (this.fd !== undefined) closeQuietly(this.fd);
      this.fd = openSync(this.path, "a", 0o600);
    } catch {
      this.failed = true;
    }
  }
}

/** Keeps the first, third, … entry of each stream; each dropped one's bytes join the kept one before it. */
function mergeAlternate(entries: readonly TimeEntry[]): TimeEntry[] {
  const kept: TimeEntry[] = [];
  const last: [TimeEntry | undefined, TimeEntry | undefined] = [undefined, undefined];
  const count = [0, 0];
  for (const entry of entries) {
    const previous = last[entry.stream];
    if (previous && count[entry.stream]! % 2 === 1) previous.end = entry.end;
    else {
      const copy = { ...entry };
      kept.push(copy);
      last[entry.stream] = copy;
    }
    count[entry.stream]!++;
  }
  return kept;
}

function encode(entries: readonly TimeEntry[]): Buffer {
  const buffer = Buffer.alloc(entries.length * ENTRY_BYTES);
  entries.forEach((entry, i) => {
    const at = i * ENTRY_BYTES;
    buffer.writeUInt8(entry.stream, at);
    buffer.writeUIntLE(entry.start, at + 2, 6);
    buffer.writeDoubleLE(entry.time, at + 8);
  });
  return buffer;
}

/**
 * The index of an ended job, from its file, for output files of `sizes` (each cut at the
 * cap). Bytes no entry covers (a job from before the index, or a crash between a write
 * and its sample) take the file's modification time: never missing, at worst late.
 */
export function readTimes(path: string, sizes: readonly [number, number], mtimes: readonly [number, number]): TimesView {
  const entries = decodeFile(path);
  const last: [TimeEntry | undefined, TimeEntry | undefined] = [undefined, undefined];
  const valid: TimeEntry[] = [];
  for (const entry of entries) {
    const previous = last[entry.stream];
    const expected = previous ? previous.start : -1;
    // Starts only grow within a stream; anything else is damage: ignored.
    if (entry.start <= expected || entry.start >= sizes[entry.stream] || (!previous && entry.start !== 0)) continue;
    if (previous) previous.end = entry.start;
    valid.push(entry);
    last[entry.stream] = entry;
  }
  for (const stream of [0, 1] as const) {
    const entry = last[stream];
    if (entry) entry.end = sizes[stream];
    else if (sizes[stream] > 0) insertByTime(valid, { stream, start: 0, end: sizes[stream], time: mtimes[stream] });
  }
  return { entries: valid, seen: [sizes[0], sizes[1]], generation: 0 };
}

function insertByTime(entries: TimeEntry[], entry: TimeEntry): void {
  const at = entries.findIndex((e) => e.time > entry.time);
  entries.splice(at === -1 ? entries.length : at, 0, entry);
}

function decodeFile(path: string): TimeEntry[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch {
    return [];
  }
  if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) return [];
  const entries: TimeEntry[] = [];
  const count = Math.min(MAX_TIME_ENTRIES, Math.floor((data.length - MAGIC.length) / ENTRY_BYTES));
  for (let i = 0; i < count; i++) {
    const at = MAGIC.length + i * ENTRY_BYTES;
    const stream = data.readUInt8(at);
    const time = data.readDoubleLE(at + 8);
    if ((stream !== 0 && stream !== 1) || !Number.isFinite(time)) continue;
    entries.push({ stream, start: data.readUIntLE(at + 2, 6), end: 0, time });
  }
  return entries;
}

/** Index files of jobs that have no record (a crash during a deletion); `known` says which ids do. */
export async function removeOrphanedTimes(jobsDir: string, known: (id: string) => boolean): Promise<void> {
  const dir = join(jobsDir, TIMES_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const id = name.replace(/\.times(\.new)?$/, "");
    if (id !== name && !known(id)) await rm(join(dir, name), { force: true });
  }
}
