import { readFileSync } from "node:fs";
import type { CgroupUsage } from "./cgroups/usage.js";
import type { LeaderRusage } from "./start/job-process.js";
import type { JobUsage } from "./types.js";
import { statFieldsOf } from "./proc-stat.js";

/** What the leader's own accounting says, in the record's units; the fallback where no cgroup counts. */
type LeaderUsage = Omit<JobUsage, "partial">;

/** Linux reports /proc/PID/stat times in USER_HZ, 100 on every architecture Node runs on. */
const USER_HZ = 100;

/**
 * A job's usage: each figure from its cgroup where one counted it, else from its leader.
 * A leader's figures are partial (the record says so): its CPU and io count only what it
 * waited for, and its memory is its largest single process's peak, not the job's. An
 * isolated job's leader is its PID namespace's init, which waits for every process of
 * the job, so its io is whole.
 */
export function combineUsage(cgroup: CgroupUsage, leaderOf: LeaderUsage | undefined | (() => LeaderUsage | undefined), isolated: boolean): JobUsage | undefined {
  const fromCgroup = { cpu: cgroup.cpuUserMs !== undefined, memory: cgroup.memoryPeakBytes !== undefined, io: cgroup.ioReadBytes !== undefined };
  const whole = fromCgroup.cpu && fromCgroup.memory && fromCgroup.io;
  // The leader is asked only for what the cgroup lacks (a read of /proc for a running job).
  const leader = whole ? undefined : typeof leaderOf === "function" ? leaderOf() : leaderOf;
  if (!leader && !whole) return undefined;
  const partial = !fromCgroup.cpu || !fromCgroup.memory || (!fromCgroup.io && !isolated);
  return {
    cpuUserMs: cgroup.cpuUserMs ?? leader!.cpuUserMs,
    cpuSystemMs: cgroup.cpuSystemMs ?? leader!.cpuSystemMs,
    memoryPeakBytes: cgroup.memoryPeakBytes ?? leader!.memoryPeakBytes,
    ioReadBytes: cgroup.ioReadBytes ?? leader!.ioReadBytes,
    ioWriteBytes: cgroup.ioWriteBytes ?? leader!.ioWriteBytes,
    ...(partial && { partial: true as const }),
  };
}

/** The reaped leader's rusage (the launcher's wait4), in the record's units. */
export function leaderUsageOf(rusage: LeaderRusage | undefined): LeaderUsage | undefined {
  if (!rusage) return undefined;
  return {
    cpuUserMs: Math.floor(rusage.userUs / 1000),
    cpuSystemMs: Math.floor(rusage.systemUs / 1000),
    memoryPeakBytes: rusage.maxRssKiB * 1024,
    ioReadBytes: rusage.blocksIn * 512,
    ioWriteBytes: rusage.blocksOut * 512,
  };
}

/**
 * A running leader's figures from /proc, as its rusage will say once it is reaped: its
 * own and its waited-for children's CPU, its peak RSS, its io. Undefined once it is gone.
 */
export function runningLeaderUsage(pid: number): LeaderUsage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after the parenthesised name: state(3) … utime(14) stime(15) cutime(16) cstime(17).
    const fields = statFieldsOf(stat);
    const ticks = (index: number) => Number(fields[index - 3]);
    const status = readFileSync(`/proc/${pid}/status`, "latin1");
    const peakKiB = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
    const io = readIo(pid);
    return {
      cpuUserMs: Math.round(((ticks(14) + ticks(16)) * 1000) / USER_HZ),
      cpuSystemMs: Math.round(((ticks(15) + ticks(17)) * 1000) / USER_HZ),
      memoryPeakBytes: peakKiB * 1024,
      ioReadBytes: io.read,
      ioWriteBytes: io.write,
    };
  } catch {
    return undefined;
  }
}

function readIo(pid: number): { read: number; write: number } {
  try {
    const text = readFileSync(`/proc/${pid}/io`, "latin1");
    return { read: Number(/^read_bytes: (\d+)$/m.exec(text)?.[1] ?? 0), write: Number(/^write_bytes: (\d+)$/m.exec(text)?.[1] ?? 0) };
  } catch {
    return { read: 0, write: 0 };
  }
}
