import { createHash } from "node:crypto";
import { join } from "node:path";
import { GROUP_PREFIX, type CgroupHost } from "../cgroups/cgroup-host.js";
import { Confiner } from "../confinement/job-confinement.js";
import { IdentityHomes } from "../confinement/homes.js";
import { checkUidRange, DEFAULT_UID_RANGE } from "../confinement/uid-range.js";
import { defaultClientLimits, defaultJobLimits } from "../confinement/host-defaults.js";
import { DAEMON_SOCKETS, rootlessUserPaths } from "../confinement/server-secrets.js";
import { IsolationNotAvailableError } from "../errors.js";
import type { IsolationReport } from "../isolation/host.js";
import type { JobStore } from "../job-store.js";
import type { JobLimits, PoolOptions } from "../types.js";

// What `JobPool.open` decides once, from its options and what the host allows.

/**
 * The limits a job that asks for none gets where the pool sets none: processes and memory
 * sized to the host (host-defaults.ts), on a root server with cgroups; within the maxima.
 */
export function hostDefaults(cgroups: CgroupHost, options: PoolOptions, maxima: JobLimits): JobLimits {
  if (options.hostDefaultLimits === false || process.getuid?.() !== 0 || !cgroups.usable) return {};
  const host = defaultJobLimits();
  const defaults: JobLimits = {};
  if (cgroups.report.enforced.pids) defaults.pids = Math.min(host.pids, maxima.pids ?? Infinity);
  if (cgroups.report.enforced.memoryBytes) defaults.memoryBytes = Math.min(host.memoryBytes, maxima.memoryBytes ?? Infinity);
  return defaults;
}

/** Limits over each identity's jobs together, sized to the host where the pool sets none (root, cgroups). */
export function hostClientLimits(cgroups: CgroupHost, options: PoolOptions): JobLimits {
  if (options.hostDefaultLimits === false || process.getuid?.() !== 0 || !cgroups.usable) return {};
  const host = defaultClientLimits();
  const enforced = cgroups.report.enforced;
  return {
    ...(enforced.pids && { pids: host.pids }),
    ...(enforced.memoryBytes && { memoryBytes: host.memoryBytes }),
  };
}

/** An identity's cgroup group: by its uid where it has one, else by a digest of its name (any string). */
export function groupName(uid: number | undefined, owner: string): string {
  return `${GROUP_PREFIX}${uid ?? createHash("sha256").update(owner).digest("hex").slice(0, 16)}`;
}

/** Who jobs run as (see Confiner): decided once, from the options and what the host allows. */
export function makeConfiner(options: PoolOptions, store: JobStore, isolation: IsolationReport, dataDir: string): Confiner {
  const root = process.getuid?.() === 0;
  const runAsRoot = options.runAs?.uid === 0;
  const homes = new IdentityHomes(join(dataDir, "homes"));
  const settings = {
    isolated: isolation.enabled,
    masks: [dataDir, ...(options.confinement?.masks ?? []), ...DAEMON_SOCKETS, ...(root ? [] : rootlessUserPaths(process.getuid!()))],
    writable: options.confinement?.writable ?? [],
  };
  if (runAsRoot || (!root && !isolation.userNamespace)) return new Confiner({ kind: "as-server" }, homes, settings);
  if (!isolation.confinable) {
    throw new IsolationNotAvailableError(`jobs cannot be confined on this host (${isolation.summary}); pass --run-as root to run them as root, unconfined`);
  }
  const range = options.confinement?.uidRange ?? DEFAULT_UID_RANGE;
  checkUidRange(range);
  const uids = store.identityUids(range);
  if (!root) {
    const gid = process.getgid!();
    // Without root they cannot be dropped (setgroups is denied in a user namespace): said.
    const groups = (process.getgroups?.() ?? []).filter((group) => group !== gid);
    return new Confiner({ kind: "rootless", user: { uid: process.getuid!(), gid, groups }, uids }, homes, settings);
  }
  if (options.runAs) return new Confiner({ kind: "run-as", user: options.runAs, uids }, homes, settings);
  return new Confiner({ kind: "per-identity", uids }, homes, settings);
}
