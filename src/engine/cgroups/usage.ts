import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { JobUsage } from "../types.js";
import type { Hierarchy } from "./detect.js";

/** The job's cgroup directories a reading may use: its killer's (every process), and per controller. */
export interface UsageSources {
  killer: { hierarchy: Hierarchy; dir: string };
  cpu?: { hierarchy: Hierarchy; dir: string };
  memory?: { hierarchy: Hierarchy; dir: string };
  /** io.stat and blkio list every device: all are counted. */
  io?: { hierarchy: Hierarchy; dir: string };
}

/** What a job's cgroups say it used: each figure where a file tells it, absent where none does. */
export type CgroupUsage = Partial<Omit<JobUsage, "partial">>;

/**
 * Reads what the job's cgroups have counted, over every process that was ever in them
 * (dockstore#633: read before the cgroup goes, or it is lost):
 * - CPU: v2 `cpu.stat` (in every v2 cgroup, controller or not), else v1 `cpuacct.usage_user|sys`;
 * - memory: v2 `memory.peak`, v1 `memory.max_usage_in_bytes`;
 * - io: v2 `io.stat` rbytes/wbytes, v1 `blkio.throttle.io_service_bytes` Read/Write, all devices.
 */
export function readCgroupUsage(sources: UsageSources): CgroupUsage {
  return { ...cpuOf(sources), ...memoryOf(sources), ...ioOf(sources) };
}

function cpuOf({ killer, cpu }: UsageSources): CgroupUsage {
  for (const part of [killer, cpu]) {
    if (part?.hierarchy.version !== 2) continue;
    const stat = keyed(read(join(part.dir, "cpu.stat")) ?? "");
    if (stat.user_usec !== undefined && stat.system_usec !== undefined) return { cpuUserMs: Math.floor(stat.user_usec / 1000), cpuSystemMs: Math.floor(stat.system_usec / 1000) };
  }
  if (cpu?.hierarchy.version === 1) {
    const user = read(join(cpu.dir, "cpuacct.usage_user"));
    const system = read(join(cpu.dir, "cpuacct.usage_sys"));
    if (user !== undefined && system !== undefined && DIGITS.test(user) && DIGITS.test(system)) {
      return { cpuUserMs: Math.floor(Number(user) / 1e6), cpuSystemMs: Math.floor(Number(system) / 1e6) };
    }
  }
  return {};
}

function memoryOf({ memory }: UsageSources): CgroupUsage {
  if (!memory) return {};
  const text = read(join(memory.dir, memory.hierarchy.version === 1 ? "memory.max_usage_in_bytes" : "memory.peak"));
  return text !== undefined && DIGITS.test(text) ? { memoryPeakBytes: Number(text) } : {};
}

function ioOf({ io }: UsageSources): CgroupUsage {
  if (!io) return {};
  const v2 = io.hierarchy.version === 2;
  const text = read(join(io.dir, v2 ? "io.stat" : "blkio.throttle.io_service_bytes"));
  if (text === undefined) return {};
  let readBytes = 0;
  let writtenBytes = 0;
  if (v2) {
    // "8:0 rbytes=… wbytes=… rios=… …", one line per device.
    for (const match of text.matchAll(/\brbytes=(\d+) wbytes=(\d+)/g)) {
      readBytes += Number(match[1]);
      writtenBytes += Number(match[2]);
    }
  } else {
    // "8:0 Read 4096" lines per device, then "Total N".
    for (const match of text.matchAll(/^\d+:\d+ (Read|Write) (\d+)$/gm)) {
      if (match[1] === "Read") readBytes += Number(match[2]);
      else writtenBytes += Number(match[2]);
    }
  }
  return { ioReadBytes: readBytes, ioWriteBytes: writtenBytes };
}

const DIGITS = /^\d+$/;

function keyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [key, value] = line.split(" ");
    if (key && value !== undefined && DIGITS.test(value)) out[key] = Number(value);
  }
  return out;
}

/** The file's text, trimmed; undefined when it cannot be read (no such controller file here). */
function read(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1").trim();
  } catch {
    return undefined;
  }
}
