import { readFileSync } from "node:fs";

/**
 * What tells one process from a later one that got the same PID: its start time in clock
 * ticks since boot (/proc/<pid>/stat field 22), and the kernel's boot id (PIDs and start
 * times begin again at every boot). Crash recovery kills a recorded process only when
 * both still match.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after the parenthesised command name start at field 3 (state).
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

let cachedBootId: string | undefined;

/** The running kernel's boot id. */
export function bootId(): string {
  cachedBootId ??= readFileSync("/proc/sys/kernel/random/boot_id", "latin1").trim();
  return cachedBootId;
}
