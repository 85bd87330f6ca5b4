import { readFileSync } from "node:fs";
import { statField } from "./proc-stat.js";

/**
 * What tells one process from a later one that got the same PID: its start time in clock
 * ticks since boot (/proc/<pid>/stat field 22), and the kernel's boot id (PIDs and start
 * times begin again at every boot). Crash recovery kills a recorded process only when
 * both still match.
 */
export function processStartTime(pid: number): string | undefined {
  return statField(pid, 22);
}

let cachedBootId: string | undefined;

/** The running kernel's boot id. */
export function bootId(): string {
  cachedBootId ??= readFileSync("/proc/sys/kernel/random/boot_id", "latin1").trim();
  return cachedBootId;
}
