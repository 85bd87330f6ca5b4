import { statfsSync } from "node:fs";

/** Below this much free space on the data disk, new jobs are refused and output counts as cut short. */
export const MIN_FREE_BYTES = 8 * 1024 * 1024;

/** Whether the file system holding `path` has less than MIN_FREE_BYTES left for us. */
export function isDiskFull(path: string): boolean {
  try {
    const stats = statfsSync(path);
    return stats.bavail * stats.bsize < MIN_FREE_BYTES;
  } catch {
    return false;
  }
}

/** Whether an error means the disk (or the database on it) is full. */
export function isNoSpaceError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === "ENOSPC" || code === "SQLITE_FULL" || code === "EDQUOT";
}
