import { existsSync, readdirSync, readFileSync, realpathSync, rmdirSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LimitNotEnforceableError } from "../errors.js";
import type { JobLimits, ResourceControlReport } from "../types.js";
import { detectCgroups, type Controller, type Detection, type Hierarchy } from "./detect.js";
import { JobCgroup, type JobCgroupPlan, type KillMethod } from "./job-cgroup.js";
import { LIMIT_NAMES, LIMIT_RULES, type LimitName } from "./limits.js";

/** The name of an identity's group of job cgroups begins with it; a job id never does. */
export const GROUP_PREFIX = "client-";

/** One identity's jobs, with limits over all of them together. */
export interface JobGroup {
  /** `client-…`: a directory name. */
  name: string;
  limits: JobLimits;
}

function rmdirQuietlySync(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // still in use, or gone: the next start cleans up
  }
}

const CONTROLLER_OF: Record<LimitName, Controller> = {
  memoryBytes: "memory",
  cpus: "cpu",
  pids: "pids",
  ioReadBps: "io",
  ioWriteBps: "io",
};

/**
 * The cgroups of one pool on this host: what can be enforced, and the factory of job
 * cgroups. Job cgroups live in `<server's own cgroup>/jobworker/<pool key>/<job id>` in
 * every hierarchy they use (docs/design.md, "Resource control").
 */
export class CgroupHost {
  readonly report: ResourceControlReport;
  private readonly killer: { hierarchy: Hierarchy; method: KillMethod } | undefined;
  private readonly enforcers: Partial<Record<LimitName, Hierarchy>>;
  private readonly why: Partial<Record<LimitName, string>>;
  private readonly hierarchies: Hierarchy[];
  private readonly ioDevice: string | undefined;
  /** Groups made by this pool (their limits written). */
  private readonly groups = new Map<string, Promise<void>>();

  private constructor(detection: Detection | undefined, dataDir: string, disabledReason?: string) {
    const problems = [...(detection?.problems ?? [])];
    const v2 = detection?.v2;
    const v1 = detection?.v1 ?? new Map<Controller, Hierarchy>();
    if (v2?.hasKill) this.killer = { hierarchy: v2, method: "cgroup.kill" };
    else if (v1.get("freezer")) this.killer = { hierarchy: v1.get("freezer")!, method: "freezer" };
    else if (v2) this.killer = { hierarchy: v2, method: "procs" };
    else {
      const any = v1.get("pids") ?? v1.get("memory") ?? v1.get("cpu") ?? v1.get("io");
      if (any) this.killer = { hierarchy: any, method: "procs" };
    }
    const device = blockDeviceOf(dataDir);
    this.ioDevice = device.device;
    this.enforcers = {};
    this.why = {};
    const noCgroups = disabledReason ?? (problems.length > 0 ? problems.join("; ") : "no usable cgroup hierarchy");
    for (const name of LIMIT_NAMES) {
      const controller = CONTROLLER_OF[name];
      const hierarchy = !this.killer ? undefined : v2?.controllers.has(controller) ? v2 : v1.get(controller);
      if (!this.killer) this.why[name] = noCgroups;
      else if (!hierarchy) this.why[name] = `no ${controller === "io" ? "io (blkio)" : controller} cgroup controller is available to the server`;
      else if (controller === "io" && !this.ioDevice) this.why[name] = device.problem!;
      else this.enforcers[name] = hierarchy;
    }
    this.hierarchies = [...new Set([...(v2 ? [v2] : []), ...v1.values()])];
    for (const name of LIMIT_NAMES) {
      if (this.why[name] && this.killer) problems.push(`cannot enforce ${LIMIT_RULES[name].label} limits: ${this.why[name]}`);
    }
    if (!this.killer && !disabledReason) problems.push("jobs run without cgroups: processes that leave a job's process group (setsid) are not killed with it, and no limit can be enforced");
    const enforced = Object.fromEntries(LIMIT_NAMES.map((n) => [n, this.enforcers[n] ? (`v${this.enforcers[n]!.version}` as const) : undefined])) as ResourceControlReport["enforced"];
    const killMethod = this.killer?.method ?? "process-group";
    this.report = {
      cgroups: this.killer !== undefined,
      killMethod,
      enforced,
      parentDirs: this.killer ? this.hierarchies.map((h) => h.poolDir) : [],
      problems,
      summary: summarize(this.killer, this.enforcers, this.ioDevice, this.killer ? undefined : noCgroups),
    };
  }

  /** Detects what this host offers (unless `enabled` is false) and cleans up after a crashed predecessor. */
  static async open(dataDir: string, enabled: boolean): Promise<CgroupHost> {
    if (!enabled) return new CgroupHost(undefined, dataDir, "cgroups are turned off");
    const host = new CgroupHost(detectCgroups(dataDir), dataDir);
    await host.removeLeftovers();
    return host;
  }

  get usable(): boolean {
    return this.killer !== undefined;
  }

  /** Throws `LimitNotEnforceableError` for the first limit this host cannot enforce. */
  checkEnforceable(limits: JobLimits): void {
    for (const name of LIMIT_NAMES) {
      if (limits[name] !== undefined && !this.enforcers[name]) throw new LimitNotEnforceableError(name, this.why[name] ?? "unavailable");
    }
  }

  /** Creates the cgroup of a new job, with its limits written; throws if the kernel refuses. */
  create(id: string, limits: JobLimits): JobCgroup {
    return JobCgroup.create(id, this.plan(id, limits, () => true));
  }

  /**
   * `create`, with the directories made off this thread. With a `group` (one identity's
   * jobs), the job's cgroups sit in the group's, whose limits hold over all its jobs
   * together: `<pool>/<group>/<job id>`.
   */
  async createAsync(id: string, limits: JobLimits, group?: JobGroup): Promise<JobCgroup> {
    if (group) await this.ensureGroup(group);
    return JobCgroup.createAsync(id, this.plan(id, limits, () => true, group));
  }

  /**
   * Makes a group's directories and writes its limits, once per group and pool. In every
   * hierarchy of the pool, not only those of the group's limits: its jobs' own limits may
   * need others, and their cgroups sit in the group's.
   */
  private ensureGroup(group: JobGroup): Promise<void> {
    let made = this.groups.get(group.name);
    if (!made) {
      made = (async () => {
        for (const hierarchy of this.hierarchies) {
          const dir = join(hierarchy.poolDir, group.name);
          await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== "EEXIST") throw err;
          });
          // v2: a cgroup has only the controllers its parent enables for its children, so
          // the group passes on to its jobs every one the pool has.
          if (hierarchy.version === 2 && hierarchy.controllers.size > 0) {
            await writeFile(join(dir, "cgroup.subtree_control"), [...hierarchy.controllers].map((c) => `+${c}`).join(" "));
          }
        }
        this.groupPlan(group).writeLimits();
      })();
      // A failure is tried again by the group's next job.
      made.catch(() => this.groups.delete(group.name));
      this.groups.set(group.name, made);
    }
    return made;
  }

  /** The hierarchies a group needs: the killer's, and those of its limits. */
  private groupHierarchies(group: JobGroup): Hierarchy[] {
    const needed = new Set<Hierarchy>([this.killer!.hierarchy]);
    for (const name of LIMIT_NAMES) {
      const hierarchy = this.enforcers[name];
      if (group.limits[name] !== undefined && hierarchy) needed.add(hierarchy);
    }
    return [...needed];
  }

  private groupPlan(group: JobGroup): JobCgroup {
    const parts = this.groupHierarchies(group).map((hierarchy) => ({ hierarchy, dir: join(hierarchy.poolDir, group.name) }));
    const byController: JobCgroupPlan["byController"] = {};
    for (const name of LIMIT_NAMES) {
      const hierarchy = this.enforcers[name];
      if (group.limits[name] !== undefined && hierarchy) byController[CONTROLLER_OF[name]] = parts.find((p) => p.hierarchy === hierarchy)!;
    }
    return JobCgroup.existing(group.name, { parts, killer: parts[0]!, killMethod: this.killer!.method, byController, limits: group.limits, ioDevice: this.ioDevice });
  }

  private plan(id: string, limits: JobLimits, exists: (dir: string) => boolean, group?: JobGroup): JobCgroupPlan {
    const killer = this.killer!;
    const parts = new Map<Hierarchy, { hierarchy: Hierarchy; dir: string }>();
    const partOf = (hierarchy: Hierarchy) => {
      let part = parts.get(hierarchy);
      if (!part) parts.set(hierarchy, (part = { hierarchy, dir: join(hierarchy.poolDir, ...(group ? [group.name] : []), id) }));
      return part;
    };
    const killerPart = partOf(killer.hierarchy);
    const byController: JobCgroupPlan["byController"] = {};
    for (const name of LIMIT_NAMES) {
      const hierarchy = this.enforcers[name];
      if (limits[name] !== undefined && hierarchy) byController[CONTROLLER_OF[name]] = partOf(hierarchy);
    }
    // Held by its group's limits too, the job must be in the group's cgroup of each.
    if (group) for (const hierarchy of this.groupHierarchies(group)) partOf(hierarchy);
    const all = [...parts.values()].filter((p) => exists(p.dir));
    return { parts: all, killer: killerPart, killMethod: killer.method, byController, limits, ioDevice: this.ioDevice };
  }

  /**
   * Job cgroups of this pool that a previous server left (it crashed or was killed -9):
   * every process in them is killed and the directories removed, before any new job.
   */
  private async removeLeftovers(): Promise<void> {
    if (!this.killer) return;
    // Job cgroups, `<id>` or `<group>/<id>` below the pool's directory.
    const ids = new Set<string>();
    const groups = new Set<string>();
    for (const h of this.hierarchies) {
      for (const entry of safeReaddir(h.poolDir)) {
        if (!entry.isDirectory()) continue;
        if (!entry.name.startsWith(GROUP_PREFIX)) ids.add(entry.name);
        else {
          groups.add(entry.name);
          for (const job of safeReaddir(join(h.poolDir, entry.name))) if (job.isDirectory()) ids.add(join(entry.name, job.name));
        }
      }
    }
    for (const id of ids) {
      // Every hierarchy the job may have used: its limits are unknown now, so look at all.
      const parts = this.hierarchies.map((hierarchy) => ({ hierarchy, dir: join(hierarchy.poolDir, id) })).filter((p) => existsSync(p.dir));
      const killerPart = parts.find((p) => p.hierarchy === this.killer!.hierarchy);
      const plan: JobCgroupPlan = {
        parts,
        killer: killerPart ?? parts[0]!,
        killMethod: killerPart ? this.killer.method : "procs",
        byController: {},
        limits: {},
        ioDevice: undefined,
      };
      const cgroup = JobCgroup.existing(id, plan);
      await cgroup.killAll();
      // A part outside the killer's hierarchy may hold processes that the killer never saw.
      for (const part of parts) {
        if (part !== plan.killer) await JobCgroup.existing(id, { ...plan, killer: part, killMethod: "procs" }).killAll();
      }
      await cgroup.remove();
    }
    for (const group of groups) for (const h of this.hierarchies) rmdirQuietlySync(join(h.poolDir, group));
  }

  /** Removes the pool's own directories (once every job has ended). */
  close(): void {
    for (const h of this.hierarchies) {
      for (const entry of safeReaddir(h.poolDir)) if (entry.isDirectory() && entry.name.startsWith(GROUP_PREFIX)) rmdirQuietlySync(join(h.poolDir, entry.name));
      try {
        rmdirSync(h.poolDir);
      } catch {
        // A job cgroup that could not be removed keeps it; the next start cleans up.
      }
    }
  }
}

function summarize(
  killer: { hierarchy: Hierarchy; method: KillMethod } | undefined,
  enforcers: Partial<Record<LimitName, Hierarchy>>,
  ioDevice: string | undefined,
  disabledReason: string | undefined,
): string {
  if (!killer) return `cgroups: not used (${disabledReason ?? "none usable"}); jobs are killed by process group only, and no limit can be enforced`;
  const how = killer.method === "cgroup.kill" ? "cgroup v2 cgroup.kill" : killer.method === "freezer" ? "cgroup v1 freezer" : `cgroup v${killer.hierarchy.version} process list`;
  const limits = LIMIT_NAMES.filter((n) => enforcers[n]).map((n) => {
    const label = LIMIT_RULES[n].label;
    return `${label} (v${enforcers[n]!.version}${n.startsWith("io") ? ` on ${ioDevice}` : ""})`;
  });
  return `cgroups: every job gets its own cgroup, killed with ${how} (${killer.hierarchy.poolDir}); limits enforced: ${limits.length > 0 ? limits.join(", ") : "none"}`;
}

function safeReaddir(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/**
 * The whole-disk block device ("MAJ:MIN") that holds `dir`, for IO throttling; throttles
 * apply to disks, not to partitions.
 */
export function blockDeviceOf(dir: string): { device?: string; problem?: string } {
  let dev: number;
  try {
    dev = statSync(dir).dev;
  } catch (err) {
    return { problem: `cannot stat the data directory: ${(err as Error).message}` };
  }
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((Math.floor(dev / 4096) & 0xfff00));
  if (major === 0) return { problem: "the data directory is not on a block device (tmpfs, overlay or a network file system?)" };
  const sys = `/sys/dev/block/${major}:${minor}`;
  if (!existsSync(sys)) return { problem: `the data directory's device ${major}:${minor} is not a block device` };
  try {
    if (existsSync(join(sys, "partition"))) {
      const disk = realpathSync(join(sys, ".."));
      return { device: readFileSync(join(disk, "dev"), "utf8").trim() };
    }
  } catch {
    return { problem: `cannot find the disk of partition ${major}:${minor}` };
  }
  return { device: `${major}:${minor}` };
}
