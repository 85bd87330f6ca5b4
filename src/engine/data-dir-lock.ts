import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { DataDirLockedError } from "./errors.js";

// fs-ext is a small native addon around flock(2), which Node does not expose. A flock is
// tied to the open file description: the kernel drops it when its holder dies, however it
// dies, so a crashed server never blocks a restart. Node opens files O_CLOEXEC, so no job
// inherits the descriptor (a job that outlived a crashed server must not hold the lock).
const { flockSync } = createRequire(import.meta.url)("fs-ext") as {
  flockSync(fd: number, flags: "exnb" | "un"): void;
};

/** The lock file's name inside the data directory; it holds the owner's pid. */
export const LOCK_FILE = "jobworker.lock";

/** An exclusive hold on one data directory, for as long as this process keeps it. */
export interface DataDirLock {
  readonly path: string;
  /** Gives the directory up (idempotent). The kernel does the same if the process dies. */
  release(): void;
}

/**
 * Takes the data directory for this process alone, before anything in it is touched
 * (recovery, cgroups, the store): two servers on one directory would kill each other's
 * jobs as "interrupted" and write one database. Throws {@link DataDirLockedError}, naming
 * the holder's pid, when another process holds it; never waits.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  // Read-write without truncation: the current holder's pid must survive our attempt.
  const fd = openSync(path, "a+", 0o600);
  try {
    flockSync(fd, "exnb");
  } catch (err) {
    closeSync(fd);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EAGAIN" || code === "EWOULDBLOCK") throw new DataDirLockedError(dataDir, readOwnerPid(path));
    throw err;
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      // Closing the last descriptor of the open file drops the flock.
      closeSync(fd);
    },
  };
}

function readOwnerPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
