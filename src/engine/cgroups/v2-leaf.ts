import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { statField } from "../proc-stat.js";

/**
 * The leaf of its delegated cgroup that a v2 server moves into (with its launcher), so
 * that the delegated cgroup itself holds no process and may enable controllers for the
 * jobs' subtree: cgroup v2's "no internal processes" rule (docs/design.md, "Resource
 * control"). The same pattern as systemd's own `DelegateSubgroup=`, by our own hand.
 */
export const SUPERVISOR_LEAF = "supervisor";

/**
 * The cgroup delegated to this process, given its own v2 path: the parent of our leaf when
 * it already sits there (moved by an earlier pool of this process, by the server it forked
 * from, or by a harness that put it there), else its own cgroup.
 */
export function delegatedPath(ownPath: string): string {
  return basename(ownPath) === SUPERVISOR_LEAF ? dirname(ownPath) : ownPath;
}

/** Whether a v2 cgroup directory is the hierarchy's root, to which the rule does not apply. */
export function isV2Root(dir: string): boolean {
  // The root has no cgroup.type (nor cgroup.events): every other cgroup has.
  return !existsSync(join(dir, "cgroup.type"));
}

/**
 * Moves this process and every descendant of it that sits in `dir` into `dir/supervisor`,
 * unless `dir` also holds processes that are not ours: those are not ours to move, and
 * while any is there `dir` cannot enable controllers for its children anyway, so then
 * nothing moves and they are returned.
 */
export function moveIntoLeaf(dir: string): { others: number[] } {
  const others = pidsIn(dir).filter((pid) => !descendsFrom(pid, process.pid));
  if (others.length > 0) return { others };
  const leaf = join(dir, SUPERVISOR_LEAF);
  mkdirSync(leaf, { recursive: true });
  // Ourselves first: what we fork from now on is born in the leaf.
  writeFileSync(join(leaf, "cgroup.procs"), String(process.pid));
  // A child forked before our move but listed late: a few rounds settle it.
  for (let round = 0; round < 5; round++) {
    let moved = 0;
    for (const pid of pidsIn(dir)) {
      if (!descendsFrom(pid, process.pid)) {
        others.push(pid);
        continue;
      }
      try {
        writeFileSync(join(leaf, "cgroup.procs"), String(pid));
        moved++;
      } catch {
        // exited meanwhile
      }
    }
    if (moved === 0) break;
  }
  return { others: [...new Set(others)] };
}

function pidsIn(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "latin1").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, depth = 0; p > 1 && depth < 64; depth++) {
    if (p === ancestor) return true;
    p = parentOf(p) ?? 0;
  }
  return false;
}

function parentOf(pid: number): number | undefined {
  const ppid = Number(statField(pid, 4));
  return Number.isInteger(ppid) ? ppid : undefined;
}
