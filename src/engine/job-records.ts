import type { StoredJob } from "./job-store.js";
import type { JobRecord, JobStatus } from "./types.js";

/** The status part of a stored record. */
export function statusOf(record: JobRecord): JobStatus {
  return {
    state: record.state,
    ...(record.errorMsg !== undefined && { errorMsg: record.errorMsg }),
    ...(record.errorCode !== undefined && { errorCode: record.errorCode }),
    ...(record.exitCode !== undefined && { exitCode: record.exitCode }),
    ...(record.signal !== undefined && { signal: record.signal }),
    ...(record.oomKilled && { oomKilled: true as const }),
    ...(record.timedOut && { timedOut: true as const }),
  };
}

/** A record without the internals that only crash recovery needs. */
export function publicRecord(record: StoredJob): JobRecord {
  const { pidStart: _pidStart, bootId: _bootId, queuedSpec: _queuedSpec, ...rest } = record;
  return rest;
}

