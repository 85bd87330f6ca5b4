import { mkdirSync, readFileSync, rmdirSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import { mkdir, rmdir, writeFile } from "node:fs/promises";
import { until } from "../back-off.js";
import { join } from "node:path";
import type { JobLimits } from "../types.js";
import type { Controller, Hierarchy } from "./detect.js";
import { readOr } from "./detect.js";
import { readCgroupUsage, type CgroupUsage } from "./usage.js";
import { statField } from "../proc-stat.js";

/** One directory of a job's cgroup: the job has one in each hierarchy it uses. */
interface Part {
  hierarchy: Hierarchy;
  dir: string;
}

export type KillMethod = "cgroup.kill" | "freezer" | "procs";

/** How a job's cgroups are laid out and limited; made by `CgroupHost`. */
export interface JobCgroupPlan {
  /** The hierarchies the job gets a directory in: the one that kills, and one per limited controller. */
  parts: Part[];
  /** The part whose membership lists every process of the job, and how to kill them. */
  killer: Part;
  killMethod: KillMethod;
  /** Which part enforces each controller. */
  byController: Partial<Record<Controller, Part>>;
  limits: JobLimits;
  /** "MAJ:MIN" of the data directory's disk, for IO limits. */
  ioDevice: string | undefined;
}

const CPU_PERIOD_US = 100_000;
/** Upper bound of every wait for a cgroup to empty: SIGKILL takes effect in microseconds to milliseconds. */
const EMPTY_WAIT_LIMIT_MS = 10_000;

/**
 * A job's own cgroup (one directory per hierarchy used): created with its limits before
 * the job starts, entered by the job's first process (the launcher's child writes its
 * `cgroup.procs`) before anything of the job's runs, used to kill every process of the
 * job (also those that left its process group), and removed when the job has ended.
 */
export class JobCgroup {
  readonly id: string;
  readonly killMethod: KillMethod;
  private readonly plan: JobCgroupPlan;
  private removed = false;

  private constructor(id: string, plan: JobCgroupPlan) {
    this.id = id;
    this.plan = plan;
    this.killMethod = plan.killMethod;
  }

  /** Creates the job's directories and writes its limits; on failure removes what it made and throws. */
  static create(id: string, plan: JobCgroupPlan): JobCgroup {
    const cgroup = new JobCgroup(id, plan);
    const made: Part[] = [];
    try {
      for (const part of plan.parts) {
        mkdirStrict(part.dir);
        made.push(part);
      }
      cgroup.writeLimits();
    } catch (err) {
      for (const part of made.reverse()) rmdirQuietly(part.dir);
      throw err;
    }
    return cgroup;
  }

  /**
   * The same, with the directories made off this thread (a cgroup `mkdir` takes a
   * millisecond or more on v1): for `JobPool.start`, which must not hold the server's thread.
   */
  static async createAsync(id: string, plan: JobCgroupPlan): Promise<JobCgroup> {
    const made: Part[] = [];
    try {
      for (const part of plan.parts) {
        await mkdir(part.dir).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "EEXIST") throw err;
        });
        made.push(part);
      }
    } catch (err) {
      for (const part of made.reverse()) rmdirQuietly(part.dir);
      throw err;
    }
    // The directories exist: only the limits are left to write (a few small writes).
    const cgroup = new JobCgroup(id, plan);
    try {
      await cgroup.writeLimitsAsync();
    } catch (err) {
      for (const part of made.reverse()) rmdirQuietly(part.dir);
      throw err;
    }
    return cgroup;
  }

  /** A leftover job cgroup (of a server that crashed), to kill and remove. */
  static existing(id: string, plan: JobCgroupPlan): JobCgroup {
    return new JobCgroup(id, plan);
  }

  /** Writes the plan's limits into its directories (a job's, or an identity's group). */
  writeLimits(): void {
    for (const { path, value, optional } of this.limitWrites()) {
      try {
        writeFileSync(path, value);
      } catch (err) {
        if (!optional) throw err;
      }
    }
  }

  /** The same, off this thread; one after another, in order (v1's memsw limit may not be set below memory's). */
  async writeLimitsAsync(): Promise<void> {
    for (const { path, value, optional } of this.limitWrites()) {
      await writeFile(path, value).catch((err: unknown) => {
        if (!optional) throw err;
      });
    }
  }

  /** What setting the plan's limits writes where; an optional file may be missing (swap accounting off, …). */
  private limitWrites(): { path: string; value: string; optional?: true }[] {
    const writes: { path: string; value: string; optional?: true }[] = [];
    const write = (dir: string, file: string, value: string | number, optional?: true) =>
      writes.push({ path: join(dir, file), value: String(value), ...(optional && { optional }) });
    const { limits, byController, ioDevice } = this.plan;
    const memory = byController.memory;
    if (limits.memoryBytes !== undefined && memory) {
      if (memory.hierarchy.version === 1) {
        write(memory.dir, "memory.limit_in_bytes", limits.memoryBytes);
        // Where swap is accounted, memory+swap gets the same limit: swap is no way around it.
        write(memory.dir, "memory.memsw.limit_in_bytes", limits.memoryBytes, true);
      } else {
        write(memory.dir, "memory.max", limits.memoryBytes);
        write(memory.dir, "memory.swap.max", 0, true);
      }
    }
    const cpu = byController.cpu;
    if (limits.cpus !== undefined && cpu) {
      const quota = Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US));
      if (cpu.hierarchy.version === 1) {
        write(cpu.dir, "cpu.cfs_period_us", CPU_PERIOD_US);
        write(cpu.dir, "cpu.cfs_quota_us", quota);
      } else {
        write(cpu.dir, "cpu.max", `${quota} ${CPU_PERIOD_US}`);
      }
    }
    const pids = byController.pids;
    if (limits.pids !== undefined && pids) write(pids.dir, "pids.max", limits.pids);
    const io = byController.io;
    if ((limits.ioReadBps !== undefined || limits.ioWriteBps !== undefined) && io && ioDevice) {
      if (io.hierarchy.version === 1) {
        if (limits.ioReadBps !== undefined) write(io.dir, "blkio.throttle.read_bps_device", `${ioDevice} ${limits.ioReadBps}`);
        if (limits.ioWriteBps !== undefined) write(io.dir, "blkio.throttle.write_bps_device", `${ioDevice} ${limits.ioWriteBps}`);
      } else {
        const parts = [ioDevice];
        if (limits.ioReadBps !== undefined) parts.push(`rbps=${limits.ioReadBps}`);
        if (limits.ioWriteBps !== undefined) parts.push(`wbps=${limits.ioWriteBps}`);
        write(io.dir, "io.max", parts.join(" "));
      }
    }
    return writes;
  }

  /**
   * The membership file of each of the job's cgroups, for a child that places itself
   * (the launcher's, writing "0" = itself, before it runs anything of the job's).
   */
  procsFiles(): string[] {
    return this.plan.parts.map((part) => join(part.dir, "cgroup.procs"));
  }

  /** PIDs of every process of the job (never the server's own). */
  members(): number[] {
    return readPids(this.plan.killer.dir).filter((pid) => pid !== process.pid);
  }

  /** Sends a signal to every process of the job; PIDs are read from the cgroup just before. */
  signalAll(signal: NodeJS.Signals, exceptGroup?: number): void {
    for (const pid of this.members()) {
      // Members of the job's process group were signalled with it: a second copy could
      // run a trap twice.
      if (exceptGroup !== undefined && processGroupOf(pid) === exceptGroup) continue;
      try {
        process.kill(pid, signal);
      } catch {
        // gone already
      }
    }
  }

  /**
   * SIGKILLs every process in the job's cgroup and resolves once none is left (or after
   * a generous bound, for a process stuck in the kernel). Cheap when the cgroup is
   * already empty, the usual case at a job's end.
   */
  async killAll(): Promise<void> {
    const { killer, killMethod } = this.plan;
    if (killMethod === "cgroup.kill") {
      if (!populatedV2(killer.dir)) return;
      write(killer.dir, "cgroup.kill", 1);
      await waitUnpopulatedV2(killer.dir, EMPTY_WAIT_LIMIT_MS);
      return;
    }
    if (this.members().length === 0) return;
    if (killMethod === "freezer") {
      // Frozen processes cannot fork or exit, so the list read below is complete and none
      // of its PIDs can be reused before the SIGKILLs land; they die at the thaw.
      write(killer.dir, "freezer.state", "FROZEN");
      await until(() => readOr(join(killer.dir, "freezer.state")).trim() === "FROZEN", 2000);
      for (const pid of this.members()) killQuietly(pid);
      write(killer.dir, "freezer.state", "THAWED");
      await until(() => this.members().length === 0, EMPTY_WAIT_LIMIT_MS);
      return;
    }
    // No freezer: kill what is listed until nothing is (a fork bomb is bounded by the rounds).
    await until(() => {
      const pids = this.members();
      pids.forEach(killQuietly);
      return pids.length === 0;
    }, EMPTY_WAIT_LIMIT_MS);
  }

  /** Whether the kernel's OOM killer killed a process of the job for its memory limit. */
  oomKilled(): boolean {
    const memory = this.plan.byController.memory;
    if (!memory || this.plan.limits.memoryBytes === undefined) return false;
    const file = memory.hierarchy.version === 1 ? "memory.oom_control" : "memory.events";
    const match = /^oom_kill (\d+)$/m.exec(readOr(join(memory.dir, file)));
    return match !== null && Number(match[1]) > 0;
  }

  /** What its processes have used so far, by the cgroup's own counts (cgroups/usage.ts). */
  usage(): CgroupUsage {
    const { killer, byController } = this.plan;
    return readCgroupUsage({ killer, ...(byController.cpu && { cpu: byController.cpu }), ...(byController.memory && { memory: byController.memory }), ...(byController.io && { io: byController.io }) });
  }

  /** Removes the job's cgroup directories (after `killAll`); returns whether all are gone. */
  async remove(): Promise<boolean> {
    if (this.removed) return true;
    let all = true;
    for (const part of [...this.plan.parts].reverse()) {
      // Off this thread first; a cgroup whose last process just died can be busy for a
      // moment (v1): then again, after short pauses.
      const gone = (await rmdir(part.dir).then(
        () => true,
        (err: NodeJS.ErrnoException) => err.code === "ENOENT",
      )) || (await until(() => rmdirQuietly(part.dir), 2000));
      all &&= gone;
    }
    this.removed = all;
    return all;
  }
}

function write(dir: string, file: string, value: string | number): void {
  writeFileSync(join(dir, file), String(value));
}

function mkdirStrict(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    // Job ids are random UUIDs: an existing directory can only be our own, made a moment ago.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

/** Whether the directory is gone (removed now, or already). */
export function rmdirQuietly(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }
}

export function readPids(dir: string): number[] {
  let text: string;
  try {
    text = readFileSync(join(dir, "cgroup.procs"), "latin1");
  } catch {
    return [];
  }
  return text.split("\n").filter(Boolean).map(Number);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone already
  }
}

function populatedV2(dir: string): boolean {
  const events = readOr(join(dir, "cgroup.events"), "populated 0");
  return /^populated 1$/m.test(events);
}

/**
 * Waits for a v2 cgroup to have no process left: `cgroup.events` changes ("populated 0")
 * when it empties, and inotify tells us so. The watch is set before the check, so the
 * change cannot slip between them.
 */
function waitUnpopulatedV2(dir: string, limitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (value: boolean) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearTimeout(timer);
      resolve(value);
    };
    try {
      watcher = watch(join(dir, "cgroup.events"), () => {
        if (!populatedV2(dir)) finish(true);
      });
      watcher.on("error", () => void until(() => !populatedV2(dir), limitMs).then(finish));
    } catch {
      void until(() => !populatedV2(dir), limitMs).then(finish);
      return;
    }
    if (!populatedV2(dir)) return finish(true);
    timer = setTimeout(() => finish(!populatedV2(dir)), limitMs);
  });
}

/** The process group of `pid`, from /proc (undefined once it is gone). */
function processGroupOf(pid: number): number | undefined {
  const pgrp = Number(statField(pid, 5));
  return Number.isInteger(pgrp) ? pgrp : undefined;
}
