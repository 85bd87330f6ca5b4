import type { Writable } from "node:stream";

/** What went wrong before the job's command ran: a step and an errno name ("exec", "ENOENT"). */
export interface StartStepFailure {
  step: string;
  code: string;
}

/** How a job's main process ended, as its starter saw it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command never ran: the failing step, in place of the job's own end. */
  failure?: StartStepFailure;
  /** What the leader used, with what it waited for (wait4); absent when nothing ran. */
  rusage?: LeaderRusage;
}

/** A reaped leader's rusage as the launcher reports it (native/PROTOCOL.md, "Events"). */
export interface LeaderRusage {
  userUs: number;
  systemUs: number;
  /** The largest single process's peak resident set, KiB. */
  maxRssKiB: number;
  /** 512-byte blocks read from and written to storage. */
  blocksIn: number;
  blocksOut: number;
}

/**
 * A job's main process, as the launcher started it (docs/design.md, "The start path").
 * It leads the job's process
 * group; signals go to that group, and only while the leader is unreaped, so that a
 * recycled group id is never hit.
 */
export interface JobProcess {
  /** The leader's pid, which is also its process group's id. */
  readonly pid: number;
  /** Its start time (/proc/<pid>/stat field 22), for crash recovery's identity check. */
  readonly pidStart: string | undefined;
  /** Resolves once the leader has ended and been reaped, and its process group SIGKILLed. */
  readonly exited: Promise<ProcessExit>;
  /** The write end of the job's stdin pipe, when it has one. */
  readonly stdin: Writable | null;
  /** Sends `signal` to the job's process group, while its leader is unreaped. */
  signalGroup(signal: NodeJS.Signals): void;
}
