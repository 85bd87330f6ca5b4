import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { isDiskFull, MIN_FREE_BYTES } from "./disk-space.js";

/** What {@link dataDirHealth} found: fine, or the one reason the pool cannot take jobs. */
export type DataDirHealth = { ok: true } | { ok: false; reason: string };

/**
 * Whether the pool can take new jobs and record them, judged from the file system alone
 * (free space, write permission on the data directory and its database), so that a
 * health probe polled every few seconds never reads or locks job data.
 */
export function dataDirHealth(dataDir: string): DataDirHealth {
  if (isDiskFull(dataDir)) return { ok: false, reason: `the data disk is full (less than ${MIN_FREE_BYTES / (1024 * 1024)} MiB free)` };
  for (const path of [dataDir, join(dataDir, "jobs.db")]) {
    try {
      // W_OK also reports a read-only mount (EROFS), even for root.
      accessSync(path, constants.W_OK);
    } catch (err) {
      return { ok: false, reason: `the job store is not writable (${(err as NodeJS.ErrnoException).code ?? "error"})` };
    }
  }
  return { ok: true };
}
