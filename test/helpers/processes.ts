import { readdirSync, readFileSync } from "node:fs";

/**
 * Whether a PID names a live process. A zombie counts as dead: it runs no code, and on
 * hosts whose init does not reap orphans it may linger long after it was killed.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The state follows the command name, which is in parentheses and may hold spaces.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * The PIDs of the processes for which `test` holds, zombies included (callers that want
 * only live ones ask `isAlive`). A process that ends while it is looked at, so that
 * `test` throws reading its /proc files, does not count.
 */
export function processesWhere(test: (pid: number) => boolean): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return test(pid);
      } catch {
        return false;
      }
    });
}

/** A process's command line as /proc shows it (arguments ended by NUL); throws once it is gone. */
export function cmdlineOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8");
}

/** Number of file descriptors this process holds open. */
export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}
