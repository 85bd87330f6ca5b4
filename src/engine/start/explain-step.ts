import type { StartFailure } from "../explain-spawn-failure.js";
import type { StartStepFailure } from "./job-process.js";
import { stepMeaning } from "./start-steps.js";

/** What explaining a step needs of its job. */
interface Explainer {
  readonly cwd: string;
  readonly spec: { cmd: string };
  explainFailure(errCode?: string): StartFailure;
}

const DISK_FULL: StartFailure = { code: "STORAGE_FULL", message: "cannot start: the disk is full" };

/** A step of the start that failed before the command ran (start-steps.ts): never the job's own exit code. */
export function explainStepFailure({ step, code }: StartStepFailure, job: Explainer): StartFailure {
  switch (stepMeaning(step)) {
    case "exec":
      return code === "ENOEXEC"
        ? { code: "NOT_EXECUTABLE", message: `cannot execute ${job.spec.cmd}: not a program the kernel can run (no #! line?)` }
        : job.explainFailure(code);
    case "output":
      return code === "ENOSPC" ? DISK_FULL : { code: "START_FAILED", message: `cannot start: its output files could not be opened (${code})` };
    case "stdin":
      return code === "ENOSPC" ? DISK_FULL : { code: "START_FAILED", message: `cannot start: its stdin could not be made (${code})` };
    case "cwd-private":
      return { code: "CWD_NOT_FOUND", message: `working directory not found: ${job.cwd} (the job's /tmp and /var/tmp are its own)` };
    case "cgroup":
      return { code: "CGROUP_FAILED", message: `cannot start: the job could not be placed in its cgroup (${code})` };
    case "resources":
      return job.explainFailure(code);
    case "request":
      return { code: "START_FAILED", message: `cannot start: the job launcher refused the request (${code === "EINVAL" ? "a value it cannot take" : code})` };
    case "launcher":
      return { code: "INTERRUPTED", message: "interrupted: the server's job launcher ended unexpectedly, and the job was killed" };
    case "isolation":
      return { code: "ISOLATION_FAILED", message: `cannot start: the job's isolation failed (${step}: ${code})` };
    case undefined:
      return { code: "START_FAILED", message: `cannot start: an unknown start step failed (${step}: ${code}); is the launcher of this build?` };
  }
}
