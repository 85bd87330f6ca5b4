import { closeSync, mkdirSync, openSync, rmSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import type { OutputName } from "./types.js";

/**
 * Where a job's output lives: `<dataDir>/jobs/<id>/stdout` and `…/stderr`. The child
 * process writes into these files directly (they are its fds 1 and 2), so output never
 * passes through the server's memory and a slow reader can never stall the job.
 */
export class OutputFiles {
  readonly dir: string;

  constructor(jobsDir: string, jobId: string) {
    this.dir = join(jobsDir, jobId);
  }

  path(name: OutputName): string {
    return join(this.dir, name);
  }

  /**
   * Creates both files and opens them for the child. O_APPEND keeps writes from the job's
   * several processes (a shell and its children share these fds) from overwriting each other.
   */
  openForChild(): { stdout: number; stderr: number } {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const stdout = openSync(this.path("stdout"), "a", 0o600);
    try {
      const stderr = openSync(this.path("stderr"), "a", 0o600);
      return { stdout, stderr };
    } catch (err) {
      closeQuietly(stdout);
      throw err;
    }
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
    for (const name of ["stdout", "stderr"] as const) {
      if (this.size(name) > bytes) truncateSync(this.path(name), bytes);
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
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
