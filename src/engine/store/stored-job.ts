import type { JobRecord } from "../types.js";
import type { ValidJobSpec } from "../job-spec.js";

/** A record as stored, with what crash recovery needs to recognise the job's processes. */
export interface StoredJob extends JobRecord {
  /** Start time of the main process (/proc/<pid>/stat field 22), to tell it from a reused PID. */
  pidStart?: string;
  /** Kernel boot id at the job's start: after a reboot no process of it can be left. */
  bootId?: string;
  /** While queued: the spec to start it with, env values included (never shown). */
  queuedSpec?: ValidJobSpec;
}
