import { statSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { LineStamper } from "../protocol/line-stamper.js";
import { isNoSpaceError } from "./disk-space.js";
import type { JobStore } from "./job-store.js";
import { InvalidArgumentError } from "./errors.js";
import { ChunkReader, type OutputChunk } from "./output-chunks.js";
import { OutputFiles } from "./output-files.js";
import type { OutputNotifier } from "./output-notifier.js";
import { OutputReader } from "./output-reader.js";
import { seekStarts, type SeekOptions } from "./output-seek.js";
import { readTimes, removeOrphanedTimes, type TimesView } from "./output-times.js";
import type { LogOptions, OutputName, StreamOptions } from "./types.js";

/** A running job's index, brought up to date when asked for. */
export interface LiveTimes {
  currentTimes(): TimesView;
}

/**
 * Reading jobs' output from their files (docs/design.md, "Output"): whole, or as streams
 * that follow a running job; the open streams of each job, so that a deletion ends them.
 */

export class OutputAccess {
  /** Open readers per job. */
  private readonly readers = new Map<string, Set<Readable>>();

  constructor(
    private readonly jobsDir: string,
    private readonly maxOutputBytes: number,
  ) {}

  /** Both streams as written so far, each cut at the cap. */
  async read(id: string): Promise<{ stdout: Buffer; stderr: Buffer }> {
    const files = new OutputFiles(this.jobsDir, id);
    const [stdout, stderr] = await Promise.all(
      (["stdout", "stderr"] as const).map(async (name) => (await readOrEmpty(files.path(name))).subarray(0, this.maxOutputBytes)),
    );
    return { stdout: stdout!, stderr: stderr! };
  }

  /**
   * A reader of one stream from `offset` (or from its last `tail` lines, or what was
   * captured `since`), following while `notifier` says the job runs; with `timestamps`,
   * each line prefixed with its capture time. `live` is a running job.
   */
  stream(id: string, which: OutputName, options: StreamOptions, notifier: OutputNotifier, live?: LiveTimes): Readable {
    if (which !== "stdout" && which !== "stderr") throw new InvalidArgumentError(`unknown output: ${String(which)}`);
    const seek = checkSeek(options, live);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError("offset must be a non-negative integer");
    if (options.offset !== undefined && (seek.tail !== undefined || seek.since !== undefined)) {
      throw new InvalidArgumentError("offset cannot be combined with tail or since: each says where to start");
    }
    const files = new OutputFiles(this.jobsDir, id);
    const follow = options.follow === true;
    if (options.timestamps) {
      const paths: [string | undefined, string | undefined] = which === "stdout" ? [files.path("stdout"), undefined] : [undefined, files.path("stderr")];
      const chunks = new ChunkReader(paths, notifier, () => live?.currentTimes() ?? this.timesOf(files), {
        follow,
        limit: this.maxOutputBytes,
        seek,
        ...(options.offset !== undefined && { offset }),
      });
      return this.register(id, Readable.from(stamped(chunks), { objectMode: false }));
    }
    const start = seek.tail === undefined && seek.since === undefined ? offset : async (handle: Parameters<typeof seekStarts>[1][number]) => {
      const handles = which === "stdout" ? [handle, undefined] : [undefined, handle];
      return (await seekStarts(live?.currentTimes() ?? this.timesOf(files), handles, seek, this.maxOutputBytes))[which === "stdout" ? 0 : 1];
    };
    return this.register(id, new OutputReader(files.path(which), notifier, { offset: start, follow, limit: this.maxOutputBytes }));
  }

  /** Both streams as chunks in capture order, each with its stream and capture time (GET /jobs/<id>/log). */
  log(id: string, options: LogOptions, notifier: OutputNotifier, live?: LiveTimes): Readable {
    const seek = checkSeek(options, live);
    const files = new OutputFiles(this.jobsDir, id);
    const reader = new ChunkReader([files.path("stdout"), files.path("stderr")], notifier, () => live?.currentTimes() ?? this.timesOf(files), {
      follow: options.follow === true,
      limit: this.maxOutputBytes,
      seek,
    });
    return this.register(id, reader);
  }

  /** An ended job's index, read back from its file (sizes cut at the cap). */
  private timesOf(files: OutputFiles): TimesView {
    const stats = (["stdout", "stderr"] as const).map((name) => statOrNone(files.path(name)));
    const sizes: [number, number] = [Math.min(stats[0]!.size, this.maxOutputBytes), Math.min(stats[1]!.size, this.maxOutputBytes)];
    return readTimes(files.timesPath(), sizes, [stats[0]!.mtimeMs, stats[1]!.mtimeMs]);
  }

  /** Keeps `reader` among the job's open readers until it closes. */
  private register(id: string, reader: Readable): Readable {
    const open = this.readers.get(id) ?? new Set();
    this.readers.set(id, open.add(reader));
    reader.once("close", () => {
      open.delete(reader);
      if (open.size === 0 && this.readers.get(id) === open) this.readers.delete(id);
    });
    return reader;
  }

  /**
   * Removes a job's record, then its output, first ending its readers with `error`.
   * Record first: a crash between the two leaves only orphaned files, which the next start
   * removes, never a record whose output is gone. Unless the disk is so full that even a
   * deletion cannot be logged: then the output goes first to make room.
   */
  remove(id: string, store: JobStore, error: Error): void {
    for (const reader of this.readers.get(id) ?? []) reader.destroy(error);
    const files = new OutputFiles(this.jobsDir, id);
    try {
      store.remove(id);
    } catch (err) {
      if (!isNoSpaceError(err)) throw err;
      files.remove();
      store.remove(id);
    }
    files.remove();
  }

  /** Removes output files without a record (a crash during a deletion), until `stopped`. */
  async removeOrphans(isKnown: (id: string) => boolean, stopped: () => boolean): Promise<void> {
    try {
      await removeOrphanedTimes(this.jobsDir, isKnown);
      for (const fileName of await readdir(this.jobsDir)) {
        if (stopped()) return;
        const jobId = OutputFiles.parseName(fileName)?.jobId;
        if (jobId !== undefined && !isKnown(jobId)) await rm(join(this.jobsDir, fileName), { force: true });
      }
    } catch {
      // Best effort: a leftover file costs disk space, never correctness.
    }
  }
}

/** Checks `tail` and `since` (the same for one stream and for the log), fixing where they count from. */
function checkSeek(options: LogOptions, live: LiveTimes | undefined): SeekOptions {
  const { tail, since } = options;
  if (tail !== undefined && (!Number.isSafeInteger(tail) || tail < 0)) throw new InvalidArgumentError("tail must be a non-negative integer");
  const sinceMs = since instanceof Date ? since.getTime() : since;
  if (sinceMs !== undefined && !Number.isFinite(sinceMs)) throw new InvalidArgumentError("since must be a valid time");
  if (tail === undefined && sinceMs === undefined) return {};
  // A live job's ends as of this call: what it writes after is "what comes next", however
  // late the reader's first read (tail=0 with follow gives exactly that).
  const until = live ? ([...live.currentTimes().seen] as [number, number]) : undefined;
  return { ...(tail !== undefined && { tail }), ...(sinceMs !== undefined && { since: sinceMs }), ...(until && { until }) };
}

/** Each chunk's lines, prefixed with its capture time. */
async function* stamped(chunks: AsyncIterable<OutputChunk>): AsyncGenerator<Buffer> {
  const stamper = new LineStamper();
  for await (const chunk of chunks) yield stamper.stamp(chunk.time, chunk.data);
}

function statOrNone(path: string): { size: number; mtimeMs: number } {
  try {
    return statSync(path);
  } catch {
    return { size: 0, mtimeMs: 0 };
  }
}

async function readOrEmpty(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw err;
  }
}

