import { join } from "node:path";
import type { CgroupHost, JobGroup } from "../cgroups/cgroup-host.js";
import type { JobCgroup } from "../cgroups/job-cgroup.js";
import type { Confiner } from "../confinement/job-confinement.js";
import { jobHostname } from "../isolation/host.js";
import type { Job } from "../job.js";
import type { LaunchAnswer } from "./launcher.js";
import type { LaunchRequest } from "./launcher-protocol.js";
import type { LauncherSupervisor } from "./launcher-supervisor.js";

/** What starting a job needs of its pool. */
export interface StartContext {
  cgroups: CgroupHost;
  launcher: LauncherSupervisor;
  confiner: Confiner;
  /** The group of an identity's jobs, whose limits hold over all of them together. */
  groupOf?: (job: Job) => JobGroup;
  /** Where stdin FIFOs are made (the pool's private directory). */
  fifoDir: string;
  /** Namespaces, when the job is isolated. */
  isolation?: { network: "host" | "none"; tmpSizeBytes: number };
}

/**
 * The one start path of every job (docs/design.md, "The start path"): its cgroup made off
 * the thread, its confinement decided, then the launcher's fork; the answer is handed to
 * the job. Nothing here blocks the thread, and nothing throws: any failure becomes the
 * job's recorded end.
 */
export async function startJob(job: Job, context: StartContext): Promise<void> {
  let cgroup: JobCgroup | undefined;
  let answer: LaunchAnswer;
  try {
    if (context.cgroups.usable) {
      try {
        cgroup = await context.cgroups.createAsync(job.id, job.limits, context.groupOf?.(job));
      } catch (err) {
        // Only the error code: the message holds the server's cgroup paths.
        return job.adopt({ failure: { step: "cgroup", code: (err as NodeJS.ErrnoException).code ?? "EIO" } }, undefined);
      }
    }
    // Planned once, at `create` (the job's $HOME is in its environment already).
    const confined = job.launch.confinement;
    try {
      await context.confiner.ensureHome(confined);
    } catch (err) {
      return job.adopt({ failure: { step: "home-make", code: (err as NodeJS.ErrnoException).code ?? "EIO" } }, cgroup);
    }
    const request: LaunchRequest = {
      cwd: job.cwd,
      stdoutPath: job.files.path("stdout"),
      stderrPath: job.files.path("stderr"),
      ...(job.spec.stdin && { stdinPath: join(context.fifoDir, `${job.id}.stdin`) }),
      cgroupProcsFiles: cgroup?.procsFiles() ?? [],
      env: job.launch.env,
      argv: [job.spec.cmd, ...job.spec.args],
      ...(context.isolation && { isolation: { ...context.isolation, hostname: jobHostname(job.id) } }),
      ...(confined.runAs && { runAs: confined.runAs }),
      ...(confined.confinement && { confinement: confined.confinement }),
    };
    answer = await context.launcher.launch(request);
  } catch (err) {
    answer = { failure: { step: "request", code: (err as NodeJS.ErrnoException).code ?? "EIO" } };
  }
  job.adopt(answer, cgroup);
}
