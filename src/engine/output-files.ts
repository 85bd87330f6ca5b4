import { closeSync, rmSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import type { OutputName } from "./types.js";

/** The folder of the jobs directory that holds the index files. */
export const TIMES_DIR = "times";
const OUTPUT_NAMES = ["stdout", "stderr"] as const satisfies readonly OutputName[];

/**
 * Where a job's output lives: `<dataDir>/jobs/<id>.stdout` and `<id>.stderr`. The child
 * process makes and writes these files directly (they are its fds 1 and 2), so output never
 * passes through the server's memory and a slow reader can never stall the job. All jobs
 * share one directory so that one inotify watch on it hears every job's writes.
 */
export class OutputFiles {
  constructor(
    private readonly jobsDir: string,
    private readonly jobId: string,
  ) {}

  path(name: OutputName): string {
    return join(this.jobsDir, `${this.jobId}.${name}`);
  }

  /** The job id and stream an output file name belongs to, or undefined for other names. */
  static parseName(fileName: string): { jobId: string; name: OutputName } | undefined {
    const dot = fileName.lastIndexOf(".");
    const name = fileName.slice(dot + 1);
    if (dot <= 0 || (name !== "stdout" && name !== "stderr")) return undefined;
    return { jobId: fileName.slice(0, dot), name };
  }

  /** The side index of capture times (output-times.ts): in a directory of its own, which the watch on the jobs directory does not hear. */
  timesPath(): string {
    return join(this.jobsDir, TIMES_DIR, `${this.jobId}.times`);
  }

  /** Current size in bytes; 0 when the file is missing (never created, or removed). */
  size(name: OutputName): number {
    try {
      return statSync(this.path(name)).size;
    } catch {
      return 0;
    }
  }

  /** Cuts both files down to at most `bytes` (the output cap). */
  truncateTo(bytes: number): void {
    for (const name of OUTPUT_NAMES) {
      if (this.size(name) > bytes) truncateSync(this.path(name), bytes);
    }
  }

  remove(): void {
    for (const name of OUTPUT_NAMES) rmSync(this.path(name), { force: true });
    rmSync(this.timesPath(), { force: true });
  }
}

/** Closes a descriptor, ignoring one that is already closed. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing to release.
  }
}
