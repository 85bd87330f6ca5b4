/**
 * Every step of a job's start that the native launcher may report as failed (the STEP of
 * its `exit H - - STEP ERRNO` event, native/PROTOCOL.md), each with what it means for the
 * job. One list for both sides: test/engine/start-steps.test.ts pins the literal step
 * names of native/*.c to it, both ways, so that no step falls into a default that
 * misnames it.
 */
export type StepMeaning =
  /** The command (or its working directory) could not be run: explained as execvp would fail. */
  | "exec"
  /** The output files could not be opened. */
  | "output"
  /** The stdin FIFO could not be made. */
  | "stdin"
  /** The working directory exists only in the host's /tmp (the job's /tmp is its own). */
  | "cwd-private"
  /** The job could not be placed in its cgroup. */
  | "cgroup"
  /** The host ran out of processes or memory to start it with. */
  | "resources"
  /** The launcher refused the request (invalid, or too large). */
  | "request"
  /** The launcher died before it answered: the job may have run, and is never started again. */
  | "launcher"
  /** The job's namespaces, mounts or privilege drop failed. */
  | "isolation";

export const START_STEPS = {
  // The launcher itself.
  request: "request",
  stdin: "stdin",
  fork: "resources",
  unshare: "isolation",
  launcher: "launcher",
  // The engine, before the launcher: the identity's home (confinement/homes.ts).
  "home-make": "isolation",
  // The job's first process, before the command.
  output: "output",
  fd: "resources",
  userns: "isolation",
  "userns-lock": "isolation",
  pdeathsig: "isolation",
  setpgid: "isolation",
  name: "isolation",
  cgroup: "cgroup",
  chdir: "exec",
  exec: "exec",
  signals: "isolation",
  pipe: "resources",
  // The init of an isolated job.
  signalfd: "isolation",
  init: "isolation",
  "mount-private": "isolation",
  "mount-proc": "isolation",
  "mount-tmp": "isolation",
  "mount-var-tmp": "isolation",
  "cwd-private": "cwd-private",
  hostname: "isolation",
  loopback: "isolation",
  // Confinement: mounts (native/confine.c, confine_mounts).
  "home-open": "isolation",
  "dev-open": "isolation",
  "mount-ro": "isolation",
  writable: "isolation",
  "mount-dev": "isolation",
  "dev-node": "isolation",
  "dev-link": "isolation",
  "mount-devpts": "isolation",
  "mount-shm": "isolation",
  "mount-mqueue": "isolation",
  "mount-dev-ro": "isolation",
  "mask-proc": "isolation",
  "ro-proc": "isolation",
  "mount-sys": "isolation",
  "mask-sys": "isolation",
  "mask-cgroup": "isolation",
  "mask-home": "isolation",
  mask: "isolation",
  "home-dir": "isolation",
  "mask-home-ro": "isolation",
  home: "isolation",
  // Confinement: the command's process (confine_process).
  setgroups: "isolation",
  setgid: "isolation",
  "cap-bounding": "isolation",
  setuid: "isolation",
  "cap-ambient": "isolation",
  caps: "isolation",
  "no-new-privs": "isolation",
  "seccomp-build": "isolation",
  seccomp: "isolation",
} as const satisfies Record<string, StepMeaning>;

export type StartStep = keyof typeof START_STEPS;

/** Steps only the engine reports (no C source names them). */
export const ENGINE_ONLY_STEPS: readonly StartStep[] = ["launcher", "home-make"];

/** What a reported step means; an unknown one (a launcher of another build) is said as such. */
export function stepMeaning(step: string): StepMeaning | undefined {
  return Object.hasOwn(START_STEPS, step) ? START_STEPS[step as StartStep] : undefined;
}
