import { availableParallelism, totalmem } from "node:os";
import { LIMIT_BY_ENGINE_NAME } from "../../protocol/limits.js";
import { readOr } from "../cgroups/detect.js";

/**
 * The limits a job, and all the jobs of one identity together, get when nobody asked
 * for any: sized to the host, so that no job and no client can take the whole machine
 * by default. The operator's `--default-…` and `--max-…` options come first.
 */

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** What the defaults are computed from. */
export interface HostFacts {
  /** /proc/sys/kernel/pid_max: how many processes (tasks) the kernel can number. */
  pidMax: number;
  /** MemTotal of /proc/meminfo, in bytes. */
  memTotalBytes: number;
  /** The CPUs this process may run on (os.availableParallelism()). */
  cpus: number;
}

export interface DefaultJobLimits {
  pids: number;
  memoryBytes: number;
}

/** No CPU cap: see defaultClientLimits. */
export interface DefaultClientLimits {
  pids: number;
  memoryBytes: number;
}

/** The kernel's own default pid_max (PID_MAX_DEFAULT), for a host whose /proc says nothing. */
const KERNEL_DEFAULT_PID_MAX = 32768;

/**
 * The host's facts. Inside a container MemTotal and the CPU count may be the host's
 * rather than the container's share: the cgroup the server runs in bounds them anyway.
 */
export function readHost(): HostFacts {
  return {
    pidMax: parsePidMax(readOr("/proc/sys/kernel/pid_max")) ?? KERNEL_DEFAULT_PID_MAX,
    memTotalBytes: parseMemTotal(readOr("/proc/meminfo")) ?? totalmem(),
    cpus: availableParallelism(),
  };
}

/** The number in /proc/sys/kernel/pid_max, or undefined. */
export function parsePidMax(text: string): number | undefined {
  const match = /^\s*(\d+)\s*$/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** MemTotal of /proc/meminfo ("MemTotal:  24683584 kB"), in bytes, or undefined. */
export function parseMemTotal(meminfo: string): number | undefined {
  const match = /^MemTotal:\s+(\d+) kB$/m.exec(meminfo);
  return match ? Number(match[1]) * 1024 : undefined;
}

/**
 * 15% of pid_max, as systemd's DefaultTasksMax (4915 on a kernel's default 32768): enough
 * for any honest workload, while a fork bomb stops there and leaves the host, and the
 * server, processes to work with.
 */
function tasksShare(pidMax: number): number {
  return Math.floor((pidMax * 15) / 100);
}

/** Rounded down to whole MiB: a memory limit reads better so, and never exceeds the share. */
function mib(bytes: number): number {
  return Math.floor(bytes / MIB) * MIB;
}

/** Not below what the engine accepts (LIMITS' min), on however small a host. */
function atLeast(limit: "pids" | "memoryBytes", value: number): number {
  return Math.max(LIMIT_BY_ENGINE_NAME[limit].min, value);
}

/**
 * A job's defaults. Processes: the systemd share, but at most 4096, so that one job's
 * fork bomb is held well before it takes all of its identity's share. Memory: half the
 * host's, so one job cannot take all memory and the host (and the server) keeps room.
 */
export function defaultJobLimits(host: HostFacts = readHost()): DefaultJobLimits {
  return {
    pids: atLeast("pids", Math.min(4096, tasksShare(host.pidMax))),
    memoryBytes: atLeast("memoryBytes", mib(host.memTotalBytes / 2)),
  };
}

/**
 * One identity's defaults, for all its jobs together. Processes: the systemd share, as a
 * login user's slice would get. Memory: three quarters of the host's, so that one client
 * running several jobs still leaves a quarter to the others and the host. CPUs: no cap
 * (not even "all of them", which would cost every job a cgroup in one more hierarchy for
 * nothing): CPU time is not held as memory is (what one client leaves idle is anyone's,
 * and when several want it the kernel shares it between their cgroups).
 */
export function defaultClientLimits(host: HostFacts = readHost()): DefaultClientLimits {
  return {
    pids: atLeast("pids", tasksShare(host.pidMax)),
    memoryBytes: atLeast("memoryBytes", mib((host.memTotalBytes * 3) / 4)),
  };
}

/** "default limits per job: 4096 processes, 11.7 GiB memory; per identity: 4915 processes, 17.6 GiB, CPU time not capped". */
export function describeDefaults(job: DefaultJobLimits = defaultJobLimits(), client: DefaultClientLimits = defaultClientLimits()): string {
  const processes = (n: number) => `${n} ${n === 1 ? "process" : "processes"}`;
  return `default limits per job: ${processes(job.pids)}, ${size(job.memoryBytes)} memory; per identity: ${processes(client.pids)}, ${size(client.memoryBytes)}, CPU time not capped`;
}

/** GiB to one decimal, rounded down (never more than the limit), or whole MiB below 1 GiB. */
function size(bytes: number): string {
  if (bytes < GIB) return `${Math.floor(bytes / MIB)} MiB`;
  return `${(Math.floor((bytes / GIB) * 10) / 10).toFixed(1)} GiB`;
}
