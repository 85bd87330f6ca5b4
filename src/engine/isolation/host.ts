import { readFileSync } from "node:fs";
import type { LaunchRequest } from "../start/launcher-protocol.js";
import type { LauncherSupervisor } from "../start/launcher-supervisor.js";

/** The namespaces every isolated job gets; "net" is added for `network: "none"`. */
export const JOB_NAMESPACES = ["pid", "mount", "ipc", "uts"] as const;

/** What the host lets the pool isolate, found once at `open`. */
export interface IsolationReport {
  /** Whether jobs run in their own namespaces. */
  enabled: boolean;
  /** Whether jobs can be confined (no privilege, the host read-only, a uid of their own). */
  confinable: boolean;
  /**
   * Whether isolated jobs are in a user namespace of their own, mapping only the server's
   * uid and gid: the server is not root (rootless, docs/security.md).
   */
  userNamespace: boolean;
  /** One line for the operator: what is isolated, or why nothing is. */
  summary: string;
}

/** How the pool isolates jobs (`PoolOptions.isolation`). */
export interface IsolationOptions {
  /** Give every job `network: "none"`, whatever it asks for. */
  networkNone?: boolean;
  /** Size of each job's private /tmp (and /var/tmp, /dev/shm), in bytes (default: the job's memory limit, else 64 MiB). */
  tmpSizeBytes?: number;
}

/** What one job's isolation and confinement were: kept in its record (a JSON object of the API). */
export interface JobIsolation {
  namespaces: string[];
  network: "host" | "none";
  /** The uid and gid the job ran as, when the server chose them. */
  uid?: number;
  gid?: number;
  /** Whether it ran with no privilege (no capability, no_new_privs, the seccomp filter). */
  confined?: boolean;
  /** Whether the host was read-only to it (writable: its $HOME, /tmp, /var/tmp, `--writable` paths). */
  read_only_host?: boolean;
  /** Its $HOME, as it saw it. */
  home?: string;
}

/** The uid a trial runs as: nobody, whose rights are the least a job may have. */
const TRIAL_UID = 65534;

function trialRequest(isolated: boolean, root: boolean, home: string, network: "host" | "none"): LaunchRequest {
  return {
    cwd: "/",
    stdoutPath: "/dev/null",
    stderrPath: "/dev/null",
    cgroupProcsFiles: [],
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    argv: ["true"],
    // Without root, the job keeps the server's uid (in its user namespace).
    ...(root && { runAs: { uid: TRIAL_UID, gid: TRIAL_UID, groups: [] } }),
    confinement: { noPrivileges: true, readOnlyHost: isolated, masks: [], writable: [], ...(isolated && { home: { source: home, target: "/home/job" } }) },
    ...(isolated && { isolation: { network, tmpSizeBytes: 1 << 20, hostname: "job-trial" } }),
  };
}

/** Runs one trial job through the launcher (the path jobs take); undefined when it worked, else why not. */
async function trial(launcher: LauncherSupervisor, isolated: boolean, root: boolean, home: string, network: "host" | "none" = "none"): Promise<string | undefined> {
  const answer = await launcher.launch(trialRequest(isolated, root, home, network));
  if ("failure" in answer) return `${answer.failure.step}: ${answer.failure.code}`;
  const exit = await answer.process.exited;
  if (exit.failure) return `${exit.failure.step}: ${exit.failure.code}`;
  return exit.code === 0 ? undefined : `the trial job ended with ${exit.signal ?? `exit code ${exit.code}`}`;
}

/**
 * Finds out, by starting trial jobs exactly as jobs start, what this host gives: an
 * isolated, confined job (namespaces, mount_setattr, seccomp; without root, in a user
 * namespace of its own), else (root only) a confined job without namespaces, else
 * nothing. `wanted: false` (`serve --no-isolation`) turns the namespaces off. The trial's
 * $HOME is `trialHome`, a directory of the server's as an identity's home is.
 */
export async function detectIsolation(wanted: boolean, launcher: LauncherSupervisor, trialHome: string): Promise<IsolationReport> {
  const shared = "jobs share the host's processes, /tmp, IPC, hostname and network";
  const root = process.getuid?.() === 0;
  // Without root and without namespaces, nothing confines a job: it is the server's user.
  const confinedAlone = root ? await trial(launcher, false, root, trialHome) : "the server is not root";
  const none = (why: string): IsolationReport => ({ enabled: false, confinable: root && confinedAlone === undefined, userNamespace: false, summary: `isolation: ${why}: ${shared}` });
  if (!wanted) return none("off (--no-isolation)");
  // Both ways a job is isolated: in a network of its own (a fresh sysfs) and in the
  // host's (the host's /sys kept, read-only).
  const isolatedWhy = (await trial(launcher, true, root, trialHome, "none")) ?? (await trial(launcher, true, root, trialHome, "host"));
  if (isolatedWhy !== undefined) {
    const hint = root ? "" : userNamespaceHint();
    return none(`not available (a trial job could not be isolated: ${isolatedWhy}${hint})`);
  }
  return {
    enabled: true,
    confinable: true,
    userNamespace: !root,
    summary: `isolation: each job in its own ${root ? "" : "user (mapping only the server's uid), "}PID, mount (own /proc, /dev, /tmp and /var/tmp), IPC and UTS namespaces; network none on request`,
  };
}

/** Why a host may refuse unprivileged user namespaces, where it says so. */
function userNamespaceHint(): string {
  const read = (path: string) => {
    try {
      return readFileSync(path, "latin1").trim();
    } catch {
      return undefined;
    }
  };
  if (read("/proc/sys/kernel/unprivileged_userns_clone") === "0") return "; kernel.unprivileged_userns_clone is 0";
  if (read("/proc/sys/user/max_user_namespaces") === "0") return "; user.max_user_namespaces is 0";
  if (read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1") return "; AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)";
  return "";
}

/** The UTS name of an isolated job: `job-` and the first 8 hex digits of its id. */
export function jobHostname(id: string): string {
  return `job-${id.replace(/-/g, "").slice(0, 8)}`;
}
