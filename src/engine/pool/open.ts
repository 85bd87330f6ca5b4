import { chmod, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CgroupHost } from "../cgroups/cgroup-host.js";
import { effectiveLimits } from "../cgroups/limits.js";
import type { Confiner } from "../confinement/job-confinement.js";
import { lockDataDir, type DataDirLock } from "../data-dir-lock.js";
import { IsolationNotAvailableError, LauncherUnavailableError } from "../errors.js";
import { detectIsolation, type IsolationReport } from "../isolation/host.js";
import { JobStore } from "../job-store.js";
import { OutputFiles } from "../output-files.js";
import { recoverInterruptedJobs } from "../recovery.js";
import { launcherBuilt, LAUNCHER_PROGRAM } from "../start/launcher.js";
import { LauncherSupervisor } from "../start/launcher-supervisor.js";
import type { JobLimits, PoolOptions } from "../types.js";
import { checkPoolOptions } from "./options.js";
import { hostClientLimits, hostDefaults, makeConfiner } from "./setup.js";

/** What an open pool is made of: each part decided once, from its options and the host. */
export interface PoolParts {
  dataDir: string;
  /** Where output files and stdin FIFOs live (private to the server). */
  jobsDir: string;
  lock: DataDirLock;
  store: JobStore;
  cgroups: CgroupHost;
  launcher: LauncherSupervisor;
  isolation: IsolationReport;
  confiner: Confiner;
  /** What a job gets when it asks for none, the most it may ask for, and each identity's total. */
  limits: { defaults: JobLimits; maxima: JobLimits; perClient: JobLimits };
}

/**
 * Takes the data directory (created 0700 if missing) and brings up what jobs need: the
 * launcher, isolation, cgroups, the store and confinement. Jobs a previous server left
 * running are dealt with before this resolves. On any failure, whatever was brought up
 * is closed again and the directory released.
 */
export async function openPoolParts(options: PoolOptions): Promise<PoolParts> {
  const dataDir = resolve(options.dataDir);
  const jobsDir = join(dataDir, "jobs");
  const checked = checkPoolOptions(options);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Before anything else in the directory is touched: recovery would take a live
  // server's jobs for a crash's leftovers, and its cgroup pool is its own.
  const lock = lockDataDir(dataDir);
  let cgroups: CgroupHost | undefined;
  let store: JobStore | undefined;
  let launcher: LauncherSupervisor | undefined;
  try {
    const program = options.launcherProgram ?? LAUNCHER_PROGRAM;
    if (!launcherBuilt(program)) throw new LauncherUnavailableError(`the job launcher is not built (${program})`);
    // Jobs may not read the data directory (other jobs' output, the records, homes).
    await chmod(dataDir, 0o700);
    await mkdir(jobsDir, { recursive: true, mode: 0o700 });
    await chmod(jobsDir, 0o700);
    launcher = await LauncherSupervisor.open(program).catch((err: Error) => {
      throw new LauncherUnavailableError(err.message);
    });
    const isolation = await detectIsolation(options.isolation !== false, launcher, jobsDir);
    if (options.isolation && options.isolation.networkNone && !isolation.enabled) {
      throw new IsolationNotAvailableError(`every job is to have network "none", but ${isolation.summary}`);
    }
    cgroups = await CgroupHost.open(dataDir, options.cgroups !== false);
    const defaults = { ...hostDefaults(cgroups, options, checked.maxima), ...checked.defaults };
    const perClient = { ...hostClientLimits(cgroups, options), ...options.clientLimits };
    cgroups.checkEnforceable(perClient);
    // Every job gets the defaults, else the maxima: the host must be able to enforce them.
    cgroups.checkEnforceable(effectiveLimits({}, defaults, checked.maxima));
    store = new JobStore(dataDir);
    const confiner = makeConfiner(options, store, isolation, dataDir);
    // Jobs of other uids pass through it to their own home (<dataDir>/homes/<uid>, 0700):
    // searchable, never listable; everything in it is 0700 or 0600.
    if (confiner.mode.kind === "per-identity" || confiner.mode.kind === "run-as") await chmod(dataDir, 0o711);
    await recoverInterruptedJobs(store, (id) => new OutputFiles(jobsDir, id));
    return { dataDir, jobsDir, lock, store, cgroups, launcher, isolation, confiner, limits: { defaults, maxima: checked.maxima, perClient } };
  } catch (err) {
    await closePoolParts({ lock, store, cgroups, launcher });
    throw err;
  }
}

/** Closes what `openPoolParts` brought up (those of them given), the directory's lock last. */
export async function closePoolParts({ launcher, store, cgroups, lock }: Partial<Pick<PoolParts, "launcher" | "store" | "cgroups">> & Pick<PoolParts, "lock">): Promise<void> {
  await launcher?.close();
  await store?.close();
  cgroups?.close();
  // Last: the directory is free only once nothing of ours runs or writes in it.
  lock.release();
}
