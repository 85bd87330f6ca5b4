import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { isNoSpaceError } from "./disk-space.js";
import type { JobStore } from "./job-store.js";
import type { Readable } from "node:stream";
import { InvalidArgumentError } from "./errors.js";
import { OutputFiles } from "./output-files.js";
import type { OutputNotifier } from "./output-notifier.js";
import { OutputReader } from "./output-reader.js";
import type { OutputName, StreamOptions } from "./types.js";

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

  /** A reader of one stream from `offset`, following while `notifier` says the job runs. */
  stream(id: string, which: OutputName, options: StreamOptions, notifier: OutputNotifier): Readable {
    if (which !== "stdout" && which !== "stderr") throw new InvalidArgumentError(`unknown output: ${String(which)}`);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError("offset must be a non-negative integer");
    const path = new OutputFiles(this.jobsDir, id).path(which);
    const reader = new OutputReader(path, notifier, { offset, follow: options.follow === true, limit: this.maxOutputBytes });
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

async function readOrEmpty(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw err;
  }
}

