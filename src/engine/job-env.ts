import { homedir } from "node:os";

/** PATH of every job unless the job sets its own: the usual system directories, nothing of the server's. */
export const DEFAULT_JOB_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The clean environment a job starts from. The server's own environment is never passed
 * on: it may hold secrets (tokens, key paths) that a job has no business seeing.
 */
export function defaultJobEnv(): Record<string, string> {
  return { PATH: DEFAULT_JOB_PATH, LANG: "C.UTF-8", HOME: homedir() };
}

/** The environment of one job: base, then the job's own variables, then its id. */
export function jobEnv(base: Record<string, string>, extra: Record<string, string>, jobId: string): Record<string, string> {
  return { ...base, ...extra, JOBWORKER_JOB_ID: jobId };
}
