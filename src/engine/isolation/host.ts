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

function trialRequest(isolated: boolean): LaunchRequest {
  return {
    cwd: "/",
    stdoutPath: "/dev/null",
    stderrPath: "/dev/null",
    cgroupProcsFiles: [],
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    argv: ["true"],
    runAs: { uid: TRIAL_UID, gid: TRIAL_UID, groups: [] },
    confinement: { noPrivileges: true, readOnlyHost: isolated, masks: [], writable: [], ...(isolated && { home: { source: "/", target: "/home/job" } }) },
    ...(isolated && { isolation: { network: "none", tmpSizeBytes: 1 << 20, hostname: "job-trial" } }),
  };
}

/** Runs one trial job through the launcher (the path jobs take); undefined when it worked, else why not. */
async function trial(launcher: LauncherSupervisor, isolated: boolean): Promise<string | undefined> {
  const answer = await launcher.launch(trialRequest(isolated));
  if ("failure" in answer) return `${answer.failure.step}: ${answer.failure.code}`;
  const exit = await answer.process.exited;
  if (exit.failure) return `${exit.failure.step}: ${exit.failure.code}`;
  return exit.code === 0 ? undefined : `the trial job ended with ${exit.signal ?? `exit code ${exit.code}`}`;
}

/**
 * Finds out, by starting trial jobs exactly as jobs start, what this host gives: an
 * isolated, confined job (root, namespaces, mount_setattr, seccomp), else a confined
 * job without namespaces, else nothing. `wanted: false` (`serve --no-isolation`) turns
 * the namespaces off.
 */
export async function detectIsolation(wanted: boolean, launcher: LauncherSupervisor): Promise<IsolationReport> {
  const shared = "jobs share the host's processes, /tmp, IPC, hostname and network";
  if (process.getuid?.() !== 0) return { enabled: false, confinable: false, summary: `isolation: not available (the server is not root): ${shared}` };
  const confinedAlone = await trial(launcher, false);
  if (!wanted) return { enabled: false, confinable: confinedAlone === undefined, summary: `isolation: off (--no-isolation): ${shared}` };
  const isolatedWhy = await trial(launcher, true);
  if (isolatedWhy === undefined) {
    return {
      enabled: true,
      confinable: true,
      summary: "isolation: each job in its own PID, mount (own /proc, /dev, /tmp and /var/tmp), IPC and UTS namespaces; network none on request",
    };
  }
  return { enabled: false, confinable: confinedAlone === undefined, summary: `isolation: not available (a trial job could not be isolated: ${isolatedWhy}): ${shared}` };
}

/** The UTS name of an isolated job: `job-` and the first 8 hex digits of its id. */
export function jobHostname(id: string): string {
  return `job-${id.replace(/-/g, "").slice(0, 8)}`;
}
