import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { delegatedPath, isV2Root, moveIntoLeaf } from "./v2-leaf.js";

/** The resource controllers the engine uses, by their cgroup v2 names (v1 calls io "blkio"). */
export type Controller = "memory" | "cpu" | "pids" | "io" | "freezer";

/** One mounted cgroup hierarchy the server may use. */
export interface Hierarchy {
  version: 1 | 2;
  /** Where it is mounted, e.g. /sys/fs/cgroup/memory. */
  mount: string;
  /** The server's own cgroup in it (where its main thread returns after each spawn). */
  ownDir: string;
  /** `<ownDir>/jobworker/<pool key>`: the parent of this pool's job cgroups. */
  poolDir: string;
  /** v1: the controllers of this hierarchy; v2: those enabled for job cgroups. */
  controllers: Set<string>;
  /** v2 only: whether job cgroups have `cgroup.kill` (Linux 5.14+). */
  hasKill: boolean;
}

interface Mount {
  version: 1 | 2;
  mount: string;
  /** The mount's root inside the hierarchy (not "/" inside some containers). */
  root: string;
  controllers: string[];
}

/** The mounted cgroup hierarchies, from /proc/self/mountinfo. */
export function cgroupMounts(mountinfo = readOr("/proc/self/mountinfo")): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountinfo.split("\n")) {
    const [before, after] = line.split(" - ");
    if (!before || !after) continue;
    const fields = before.split(" ");
    const [fstype, , superOptions = ""] = after.split(" ");
    const root = unescapeMount(fields[3] ?? "/");
    const mount = unescapeMount(fields[4] ?? "");
    if (fstype === "cgroup2") mounts.push({ version: 2, mount, root, controllers: [] });
    if (fstype === "cgroup") {
      const controllers = superOptions.split(",").filter((o) => ["memory", "cpu", "cpuacct", "pids", "blkio", "freezer", "cpuset", "devices"].includes(o));
      if (controllers.length > 0) mounts.push({ version: 1, mount, root, controllers });
    }
  }
  return mounts;
}

/** The server's own cgroup path in each hierarchy, from /proc/self/cgroup: keyed by "0" (v2) or a controller name. */
export function ownCgroups(text = readOr("/proc/self/cgroup")): Map<string, string> {
  const own = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, id, controllers, path] = match;
    if (id === "0" && controllers === "") own.set("0", path!);
    else for (const c of controllers!.split(",")) own.set(c, path!);
  }
  return own;
}

/** A short key naming one pool (one data directory), so that pools on one host never share job cgroups. */
export function poolKey(dataDir: string): string {
  return createHash("sha256").update(dataDir).digest("hex").slice(0, 16);
}

export interface Detection {
  v2: Hierarchy | undefined;
  /** v1 hierarchies by controller (memory, cpu, pids, io=blkio, freezer). */
  v1: Map<Controller, Hierarchy>;
  /** Why something could not be used, for the start-up report. */
  problems: string[];
}

const V1_NAMES: Record<Controller, string> = { memory: "memory", cpu: "cpu", pids: "pids", io: "blkio", freezer: "freezer" };
const V2_CONTROLLERS: Controller[] = ["memory", "cpu", "pids", "io"];

/**
 * Finds the cgroup hierarchies this server can use and creates its pool directory in each
 * (`<own cgroup>/jobworker/<pool key>`). A hierarchy that cannot be written (not root,
 * read-only, not delegated) is left out and the reason recorded.
 */
export function detectCgroups(dataDir: string): Detection {
  const problems: string[] = [];
  const mounts = cgroupMounts();
  const own = ownCgroups();
  const key = poolKey(dataDir);
  const v1 = new Map<Controller, Hierarchy>();
  let v2: Hierarchy | undefined;
  if (mounts.length === 0) {
    problems.push("no cgroup file system is mounted");
    return { v2, v1, problems };
  }
  const tried = new Map<string, Hierarchy | undefined>();
  // Mounts that could not be used, grouped by reason: one line each in the report.
  const refused = new Map<string, string[]>();
  const prepare = (m: Mount, ownPath: string | undefined): Hierarchy | undefined => {
    if (tried.has(m.mount)) return tried.get(m.mount);
    const ownDir = join(m.mount, relativeTo(ownPath ?? "/", m.root));
    const poolDir = join(existsSync(ownDir) ? ownDir : m.mount, "jobworker", key);
    let hierarchy: Hierarchy | undefined;
    try {
      mkdirSync(poolDir, { recursive: true });
      hierarchy = { version: m.version, mount: m.mount, ownDir: existsSync(ownDir) ? ownDir : m.mount, poolDir, controllers: new Set(m.controllers), hasKill: false };
    } catch (err) {
      const reason = describeFsError(err);
      refused.set(reason, [...(refused.get(reason) ?? []), m.mount]);
    }
    tried.set(m.mount, hierarchy);
    return hierarchy;
  };
  const unified = mounts.find((m) => m.version === 2);
  if (unified) {
    // A server that moved into its leaf (below) uses the cgroup delegated to it, the leaf's parent.
    const ownV2 = own.get("0");
    v2 = prepare(unified, ownV2 === undefined ? undefined : delegatedPath(ownV2));
    if (v2) {
      // The pool directory is never a root cgroup, so it has cgroup.kill where the kernel does.
      v2.hasKill = existsSync(join(v2.poolDir, "cgroup.kill"));
      enableV2Controllers(v2, problems);
    }
  }
  for (const controller of ["memory", "cpu", "pids", "io", "freezer"] as Controller[]) {
    if (controller !== "freezer" && v2?.controllers.has(controller)) continue;
    const name = V1_NAMES[controller];
    const m = mounts.find((x) => x.version === 1 && x.controllers.includes(name));
    if (!m) continue;
    const h = prepare(m, own.get(name));
    if (h) v1.set(controller, h);
  }
  for (const [reason, where] of refused) problems.unshift(`cannot create cgroups in ${where.join(", ")}: ${reason}`);
  return { v2, v1, problems };
}

/**
 * Makes v2 controllers available to job cgroups by enabling them in `subtree_control` from
 * the server's own cgroup down to the pool directory. cgroup v2 refuses that (EBUSY) in a
 * cgroup other than the root that holds processes, and the server's own cgroup holds the
 * server: so first the server moves itself and its launcher into a leaf of it,
 * `supervisor/` (v2-leaf.ts), as a service with systemd's `Delegate=yes` is expected to.
 * Processes of the cgroup that are not the server's are never moved: while they are
 * there, no controller can be enabled, and the report says why.
 */
function enableV2Controllers(v2: Hierarchy, problems: string[]): void {
  const available = readOr(join(v2.ownDir, "cgroup.controllers")).trim().split(/\s+/).filter(Boolean);
  const wanted = V2_CONTROLLERS.filter((c) => available.includes(c));
  if (wanted.length === 0) return;
  if (!isV2Root(v2.ownDir) && readOr(join(v2.ownDir, "cgroup.procs")).trim() !== "") {
    try {
      const { others } = moveIntoLeaf(v2.ownDir);
      if (others.length > 0) {
        const listed = others.slice(0, 5).join(", ") + (others.length > 5 ? ", …" : "");
        problems.push(
          `cgroup v2 controllers cannot be delegated to job cgroups: ${v2.ownDir} holds processes that are not the server's (${listed}); ` +
            "run the server alone in a cgroup of its own (systemd: a unit with Delegate=yes; a container: the server as its main process)",
        );
        return;
      }
    } catch (err) {
      problems.push(`cgroup v2 controllers cannot be delegated to job cgroups: cannot move the server into ${join(v2.ownDir, "supervisor")}: ${describeFsError(err)}`);
      return;
    }
  }
  const chain = [v2.ownDir, join(v2.ownDir, "jobworker"), v2.poolDir];
  for (const controller of wanted) {
    try {
      for (const dir of chain) writeFileSync(join(dir, "cgroup.subtree_control"), `+${controller}`);
      v2.controllers.add(controller);
    } catch (err) {
      problems.push(`cgroup v2 controller ${controller} cannot be delegated to job cgroups: ${describeFsError(err)}`);
    }
  }
}

function relativeTo(path: string, root: string): string {
  if (root === "/" || root === "") return path;
  return path.startsWith(root) ? path.slice(root.length) || "/" : path;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function readOr(path: string, fallback = ""): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "permission denied (the server is not root, or this cgroup tree is not delegated to it)";
    case "EROFS":
      return "the cgroup file system is read-only";
    case "ENOENT":
      return "not found";
    case "EBUSY":
      return "busy (cgroup v2 does not allow controllers in a cgroup that holds processes)";
    default:
      return (err as Error).message ?? String(err);
  }
}
