import type { JobRecord } from "../../engine/index.js";

/** How a job ended, as the label `outcome` of `jobworker_jobs_ended_total`: a fixed set. */
export const JOB_OUTCOMES = ["completed_zero", "completed_nonzero", "signaled", "oom", "error", "timed_out"] as const;

/** One of {@link JOB_OUTCOMES}. */
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/**
 * The outcome of an ended job. The most telling wins: a timed-out job is `timed_out`
 * however its command then ended, an out-of-memory kill is `oom` rather than `signaled`,
 * and `error` is a job that never ran (or was interrupted, stopped by the server's
 * shutdown, or cut at its output limit: see the record's `error_code`).
 */
export function jobOutcome(record: Pick<JobRecord, "state" | "exitCode" | "signal" | "oomKilled" | "timedOut">): JobOutcome {
  if (record.timedOut) return "timed_out";
  if (record.oomKilled) return "oom";
  if (record.state === "error") return "error";
  if (record.signal !== undefined) return "signaled";
  return record.exitCode === 0 ? "completed_zero" : "completed_nonzero";
}
