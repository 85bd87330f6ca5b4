import type { JobCgroup } from "./cgroups/job-cgroup.js";
import type { StartFailure } from "./explain-spawn-failure.js";
import { exitCodeForSignal, waitForGroupGone } from "./process-group.js";
import type { ProcessExit } from "./start/job-process.js";
import { explainStepFailure } from "./start/explain-step.js";
import type { Job, StopReason } from "./job.js";
import type { JobStatus, JobUsage } from "./types.js";
import type { CgroupUsage } from "./cgroups/usage.js";
import { combineUsage, leaderUsageOf } from "./job-usage.js";
import type { JobErrorCode } from "../protocol/error-codes.js";

/** How a job's start or run ended: the leader's exit, or a start that failed after the record was made. */
export type JobEnd = { exit: ProcessExit; pgid: number } | { failure: StartFailure };

/** The stop reasons that turn the job into an error (a timeout does not: the job ends as its command did). */
type ErrorStopReason = Exclude<StopReason, "timeout">;
const REASONS: Record<ErrorStopReason, { code: JobErrorCode; message: (job: Job) => string }> = {
  "output-limit": { code: "OUTPUT_LIMIT", message: (job) => `output limit reached: the job wrote more than ${job.maxOutputBytes} bytes and was stopped` },
  shutdown: { code: "SHUTDOWN", message: () => "stopped: the worker shut down while the job was running" },
};

/**
 * Everything between a job's leader being reaped and its end being recorded: the rest of
 * its tree killed (its cgroup, or its process group), the OOM verdict, the output cap.
 * It never throws: a failure of the cleanup is itself the recorded end (with its reason),
 * so that every waiter resolves and the job never counts as running for ever.
 */
export async function finishJob(job: Job, end: JobEnd, cgroup: JobCgroup | undefined): Promise<{ status: JobStatus; truncated: boolean; usage: JobUsage | undefined }> {
  let oomKilled = false;
  let cleanupError: unknown;
  let counted: CgroupUsage = {};
  try {
    // The job is over only once none of its processes runs: with a cgroup, that includes
    // those that left the group (setsid, double fork).
    if (cgroup) {
      await cgroup.killAll();
      oomKilled = "exit" in end && end.exit.signal === "SIGKILL" && cgroup.oomKilled();
      // Read before the cgroup goes: its counts go with it.
      counted = cgroup.usage();
      await cgroup.remove();
    } else if ("exit" in end) {
      await waitForGroupGone(end.pgid);
    }
  } catch (err) {
    cleanupError = err;
  }
  let truncated = false;
  try {
    if (job.stopReason === "output-limit") {
      job.files.truncateTo(job.maxOutputBytes);
      truncated = true;
    }
    if (job.launch.diskFull()) truncated = true;
  } catch (err) {
    cleanupError ??= err;
  }
  // A job whose command never ran used nothing worth a record.
  const usage = "exit" in end && !end.exit.failure ? combineUsage(counted, leaderUsageOf(end.exit.rusage), job.isolatedTree) : undefined;
  if (cleanupError !== undefined) {
    // Only the error code: messages hold the server's paths.
    const code = (cleanupError as NodeJS.ErrnoException).code ?? "failed";
    return { status: { state: "error", errorCode: "INTERRUPTED", errorMsg: `the job's end could not be cleaned up (${code}): some of its processes may have been left` }, truncated, usage };
  }
  return { status: statusOf(job, end, oomKilled), truncated, usage };
}

function statusOf(job: Job, end: JobEnd, oomKilled: boolean): JobStatus {
  if ("failure" in end) return { state: "error", errorMsg: end.failure.message, errorCode: end.failure.code };
  const { code, signal, failure } = end.exit;
  let status: JobStatus = failure
    ? { state: "error", ...errorOf(explainStepFailure(failure, job)) }
    : signal
      ? { state: "completed", exitCode: exitCodeForSignal(signal), signal, ...(oomKilled && { oomKilled: true as const }) }
      : { state: "completed", exitCode: code ?? 0 };
  // A timed-out job ends as its command did (a trap may choose its exit code), marked.
  if (job.stopReason === "timeout") status = { ...status, timedOut: true };
  else if (job.stopReason) status = { state: "error", errorMsg: REASONS[job.stopReason].message(job), errorCode: REASONS[job.stopReason].code };
  return status;
}

function errorOf({ message, code }: StartFailure): Pick<JobStatus, "errorMsg" | "errorCode"> {
  return { errorMsg: message, errorCode: code };
}
