import type { JobCgroup } from "./cgroups/job-cgroup.js";
import type { JobProcess } from "./start/job-process.js";

/**
 * Terminates a running job's tree: SIGTERM to its process group (and to what left the
 * group, through its cgroup), then SIGKILL of both after `graceMs` if the leader has not
 * ended; `graceMs` 0 kills at once. Resolves once the job has ended (`ended`). The
 * launcher signals the group only while its leader is unreaped, so a recycled group id is
 * never hit.
 */
export async function terminateJob({ process, cgroup }: { process: JobProcess; cgroup: JobCgroup | undefined }, graceMs: number, ended: Promise<void>): Promise<void> {
  process.signalGroup(graceMs === 0 ? "SIGKILL" : "SIGTERM");
  // Processes that left the group are in the cgroup: they are told too (the group's
  // members, signalled already, are skipped: a second SIGTERM would run a trap twice).
  if (graceMs > 0) cgroup?.signalAll("SIGTERM", process.pid);
  else void cgroup?.killAll().catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<"grace-over">((resolve) => {
    timer = setTimeout(() => resolve("grace-over"), graceMs);
  });
  let leaderEnded = false;
  void process.exited.then(() => (leaderEnded = true));
  const outcome = await Promise.race([ended, graceOver]);
  clearTimeout(timer);
  if (outcome === "grace-over" && !leaderEnded) {
    process.signalGroup("SIGKILL");
    void cgroup?.killAll().catch(() => {});
  }
  await ended;
}
