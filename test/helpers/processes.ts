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

/** Number of file descriptors this process holds open. */
export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}
