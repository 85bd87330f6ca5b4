import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { DataDirLockedError } from "./errors.js";

// The lock is SQLite's own, on a database of its own (docs/design.md, "One server per data
// directory"): a connection in exclusive locking mode inside an exclusive transaction
// holds POSIX locks on LOCK_DB until it closes. The kernel drops them when the process
// dies, however it dies, so a crashed server never blocks a restart; they belong to the
// process, so no job (a child, forked or not) ever holds them; and SQLite makes two
// connections of one process exclude each other too. It needs no native module besides
// the store's: fs-ext's flock(2) served before.

/** The file holding the owner's pid, for the refusal to name it. */
export const LOCK_FILE = "jobworker.lock";
/** The database whose SQLite lock is the data directory's. */
export const LOCK_DB = "jobworker.lock.db";

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
  // timeout 0: a busy lock fails at once instead of after better-sqlite3's 5 s.
  const db = new Database(join(dataDir, LOCK_DB), { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    // Nothing is ever written to it: no journal file beside it, no fsync.
    db.pragma("journal_mode = OFF");
    db.exec("BEGIN EXCLUSIVE");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") throw new DataDirLockedError(dataDir, readOwnerPid(path));
    throw err;
  }
  // Only the holder writes the pid, so the refusal above never clobbers it.
  const fd = openSync(path, "w", 0o600);
  try {
    writeSync(fd, `${process.pid}\n`, 0);
  } finally {
    closeSync(fd);
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      // Closing the connection drops its locks.
      db.close();
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
