import type { JobStore } from "./job-store.js";
import type { OutputFiles } from "./output-files.js";
import { bootId, processStartTime } from "./process-identity.js";
import { signalGroup, waitForGroupGone } from "./process-group.js";

/** What an interrupted job's record says, for its owner to read. */
export const INTERRUPTED_MESSAGE = "interrupted: the worker stopped while the job was running; its remaining processes were killed at restart";

/**
 * Deals with the jobs a previous server left `running` (it crashed or was killed -9):
 * kills what is left of each job's process group, then records the job as interrupted,
 * with the output it wrote. No process of an old job survives the restart.
 *
 * A recorded PID is trusted only where it cannot have been reused: within the same boot,
 * either the process is still the one we started (same start time), or it is gone and
 * its group lingers (Linux never hands out a PID that is still a live group's id, so
 * the group's members are the job's). A PID now held by another process is left alone.
 */
export async function recoverInterruptedJobs(store: JobStore, filesOf: (id: string) => OutputFiles): Promise<number> {
  const interrupted = store.running();
  for (const record of interrupted) {
    if (record.pid !== undefined && record.bootId === bootId()) {
      const start = processStartTime(record.pid);
      if (start === undefined || start === record.pidStart) {
        signalGroup(record.pid, "SIGKILL");
        await waitForGroupGone(record.pid);
      }
    }
    const files = filesOf(record.id);
    store.finish({
      ...record,
      state: "error",
      errorMsg: INTERRUPTED_MESSAGE,
      errorCode: "INTERRUPTED",
      // Its deadline passed while no server watched it: it would have been stopped.
      ...(record.deadlineAt !== undefined && record.deadlineAt <= Date.now() && { timedOut: true as const }),
      endedAt: Date.now(),
      stdoutBytes: files.size("stdout"),
      stderrBytes: files.size("stderr"),
    });
  }
  return interrupted.length;
}
