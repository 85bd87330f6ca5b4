import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { errnoName } from "../start/errno-name.js";
import { fileURLToPath } from "node:url";

/** The namespaces every isolated job gets; "net" is added for `network: "none"`. */
export const JOB_NAMESPACES = ["pid", "mount", "ipc", "uts"] as const;

/**
 * The helper that makes a job's namespaces and is its PID 1 (native/jobworker-init.c,
 * built by `npm run build` into dist/native/). Found from the package root, so that the
 * same path serves this module compiled in dist/ and run from src/ (the tests).
 */
export const INIT_HELPER = fileURLToPath(new URL("../../../dist/native/jobworker-init", import.meta.url));

/** What the host lets the pool isolate, found once at `open`. */
export interface IsolationReport {
  /** Whether jobs run in their own namespaces. */
  enabled: boolean;
  /** One line for the operator: what is isolated, or why nothing is. */
  summary: string;
}

/** How the pool isolates jobs (`PoolOptions.isolation`). */
export interface IsolationOptions {
  /** Give every job `network: "none"`, whatever it asks for. */
  networkNone?: boolean;
  /** Size of each job's private /tmp and /var/tmp, in bytes (default: the job's memory limit, else 64 MiB). */
  tmpSizeBytes?: number;
  /** Where the helper is, for embedders that install it elsewhere (default: the one `npm run build` made). */
  helperPath?: string;
}

/** What one job's isolation was: kept in its record. */
export interface JobIsolation {
  namespaces: string[];
  network: "host" | "none";
}

/**
 * Finds out whether jobs can be isolated here: root (to create namespaces and mount),
 * the helper built, and a trial run of it that makes every namespace a job would get.
 * `wanted: false` (`serve --no-isolation`) turns it off.
 */
export function detectIsolation(wanted: boolean, helper = INIT_HELPER): IsolationReport {
  if (!wanted) return { enabled: false, summary: "isolation: off (--no-isolation): jobs share the host's processes, /tmp, IPC, hostname and network" };
  const why = whyNotIsolated(helper);
  if (why) return { enabled: false, summary: `isolation: not available (${why}): jobs share the host's processes, /tmp, IPC, hostname and network` };
  return {
    enabled: true,
    summary: `isolation: each job in its own PID, mount (own /proc, private /tmp and /var/tmp), IPC and UTS namespaces; network none on request`,
  };
}

function whyNotIsolated(helper: string): string | undefined {
  if (process.getuid?.() !== 0) return "the server is not root";
  try {
    accessSync(helper, constants.X_OK);
  } catch {
    return "the namespace helper was not built: `npm run build` needs a C compiler (cc) with static glibc";
  }
  const trial = spawnSync(helper, ["--net-none", "--", "true"], { cwd: "/", stdio: ["ignore", "ignore", "ignore", "pipe"], encoding: "utf8", timeout: 10_000 });
  if (trial.status === 0) return undefined;
  const reason = (trial.output?.[3] as string | undefined)?.trim();
  return `a trial job could not be isolated${reason ? ` (${reason})` : ""}`;
}

/** The UTS name of an isolated job: `job-` and the first 8 hex digits of its id. */
export function jobHostname(id: string): string {
  return `job-${id.replace(/-/g, "").slice(0, 8)}`;
}

/** The helper's arguments for one job, before `--` and the command. */
export function helperArgv(options: {
  id: string;
  network: "host" | "none";
  tmpSizeBytes: number;
  runAs?: { uid: number; gid: number; groups?: number[] };
}): string[] {
  const argv = ["--hostname", jobHostname(options.id), "--tmp-size", String(options.tmpSizeBytes)];
  if (options.network === "none") argv.push("--net-none");
  if (options.runAs) {
    argv.push("--uid", String(options.runAs.uid), "--gid", String(options.runAs.gid));
    // As spawn's uid/gid do: no supplementary groups unless the user has some.
    argv.push("--groups", (options.runAs.groups ?? []).join(","));
  }
  return argv;
}

/** Reads the helper's status line ("exec 2"): the step that failed and its errno name. */
export function parseHelperFailure(text: string): { step: string; code: string } | undefined {
  const match = /^(\S+) (\d+)$/m.exec(text);
  if (!match) return undefined;
  return { step: match[1]!, code: errnoName(Number(match[2])) };
}
