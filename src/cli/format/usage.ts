import type { JobRecord } from "../../client/index.js";

/** What `run` says while its job waits for a slot. */
export function queuedLine(position: number): string {
  return `queued (position ${position})`;
}

/** "80.4 MiB": bytes in binary units, one decimal from KiB up. */
export function formatBytes(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB"];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** "1.234s": milliseconds of CPU as seconds. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

/**
 * A job's usage in one line, as `status` and `run --stats` print it:
 * "cpu 1.234s user, 0.050s system; memory peak 80.4 MiB; io 0 B read, 12.0 KiB written".
 */
export function formatUsage(usage: NonNullable<JobRecord["usage"]>): string {
  const line = `cpu ${seconds(usage.cpu_user_ms)} user, ${seconds(usage.cpu_system_ms)} system; memory peak ${formatBytes(usage.memory_peak_bytes)}; io ${formatBytes(usage.io_read_bytes)} read, ${formatBytes(usage.io_write_bytes)} written`;
  return usage.partial ? `${line} (partial)` : line;
}

/** `run --stats`: the usage line, or why there is none. */
export function statsLine(record: JobRecord): string {
  return record.usage ? `usage: ${formatUsage(record.usage)}` : "usage: none measured (the job never ran)";
}
