import { LIMIT_BY_ENGINE_NAME, type LimitName } from "../protocol/limits.js";

/**
 * Errors raised by the job engine. Each has a stable `code` that callers (the HTTP
 * server, the CLI) map to their own answers; messages are written for people.
 */
export type EngineErrorCode =
  | "JOB_NOT_FOUND"
  | "INVALID_JOB_SPEC"
  | "POOL_CLOSED"
  | "STORAGE_FULL"
  | "INVALID_ARGUMENT"
  | "LIMIT_ABOVE_MAXIMUM"
  | "LIMIT_NOT_ENFORCEABLE"
  | "DATA_DIR_LOCKED"
  | "ISOLATION_NOT_AVAILABLE"
  | "TIMEOUT_ABOVE_MAXIMUM"
  | "STDIN_NOT_AVAILABLE"
  | "JOB_NOT_RUNNING"
  | "TOO_MANY_RUNNING_JOBS"
  | "UID_RANGE_EXHAUSTED"
  | "LAUNCHER_UNAVAILABLE"
  | "STORE_TOO_NEW";

/** Base class of every error the engine throws. */
export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The id is unknown (or, through an owner filter, not the caller's: same answer). */
export class JobNotFoundError extends EngineError {
  readonly jobId: string;
  constructor(jobId: string) {
    super("JOB_NOT_FOUND", `job not found: ${jobId}`);
    this.jobId = jobId;
  }
}

/** The identity has as many jobs running and waiting as the pool allows (`PoolOptions.queue`). */
export class TooManyJobsError extends EngineError {
  constructor(maxRunning: number, maxQueued: number) {
    const queue = maxQueued === 0 ? "" : `, with ${maxQueued} more queued`;
    super("TOO_MANY_RUNNING_JOBS", `too many running jobs: this client may run at most ${maxRunning} at once${queue}`);
  }
}

/** The job spec passed to `create` is malformed (empty cmd, NUL byte, wrong type…). */
export class InvalidJobSpecError extends EngineError {
  constructor(message: string) {
    super("INVALID_JOB_SPEC", message);
  }
}

/** The pool was closed; it accepts no new jobs. */
export class PoolClosedError extends EngineError {
  constructor() {
    super("POOL_CLOSED", "the job pool is closed");
  }
}

/** An argument other than the job spec is invalid (a negative offset, an unknown stream name…). */
export class InvalidArgumentError extends EngineError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

/** Another process (another server) owns the data directory: see `lockDataDir`. */
export class DataDirLockedError extends EngineError {
  readonly dataDir: string;
  /** The owner's pid, as its lock file says (absent if it could not be read). */
  readonly ownerPid: number | undefined;
  constructor(dataDir: string, ownerPid: number | undefined) {
    const owner = ownerPid === undefined ? "another jobworker server" : `another jobworker server (pid ${ownerPid})`;
    super("DATA_DIR_LOCKED", `${owner} is using the data directory ${dataDir}`);
    this.dataDir = dataDir;
    this.ownerPid = ownerPid;
  }
}

/** A job asked for a timeout longer than the operator allows (`PoolOptions.timeouts.maxMs`). */
export class TimeoutAboveMaximumError extends EngineError {
  constructor(requestedMs: number, maximumMs: number) {
    super("TIMEOUT_ABOVE_MAXIMUM", `timeout ${requestedMs} ms is above this server's maximum of ${maximumMs} ms`);
  }
}

/** A job's stdin cannot be written: started without one, ended, or already taken by a writer. */
export class StdinNotAvailableError extends EngineError {
  constructor(why: string) {
    super("STDIN_NOT_AVAILABLE", `cannot write to the job's stdin: ${why}`);
  }
}

/** A signal for a job that has ended (or never started): there is nothing to signal. */
export class JobNotRunningError extends EngineError {
  constructor(why: string) {
    super("JOB_NOT_RUNNING", why);
  }
}

/** A job asked for isolation this host cannot give (`network: "none"` where namespaces cannot be made). */
export class IsolationNotAvailableError extends EngineError {
  constructor(why: string) {
    super("ISOLATION_NOT_AVAILABLE", why);
  }
}

/** The data directory's disk is full: no new job until space returns. */
export class StorageFullError extends EngineError {
  constructor(detail = "the data directory's disk is full") {
    super("STORAGE_FULL", `${detail}; no new jobs until space is freed`);
  }
}

/** How messages name a limit, and its unit, from the protocol's limits table. */
function labelOf(limit: string): { label: string; unit: string } {
  return LIMIT_BY_ENGINE_NAME[limit as LimitName] ?? { label: limit, unit: "" };
}

/** "memory limit 2147483648 bytes is above this server's maximum of 1073741824 bytes". */
export function describeAboveMaximum(limit: string, what: "limit" | "default", value: number, maximum: number): string {
  const { label, unit } = labelOf(limit);
  return `${label} ${what} ${value} ${unit} is above this server's maximum of ${maximum} ${unit}`.replace(/ {2}/g, " ");
}

/** A job asked for more of a resource than the operator allows (`PoolOptions.limits.maxima`). */
export class LimitAboveMaximumError extends EngineError {
  readonly limit: string;
  readonly requested: number;
  readonly maximum: number;
  constructor(limit: string, requested: number, maximum: number) {
    super("LIMIT_ABOVE_MAXIMUM", describeAboveMaximum(limit, "limit", requested, maximum));
    this.limit = limit;
    this.requested = requested;
    this.maximum = maximum;
  }
}

/** A job asked for a limit this host cannot enforce (no cgroup access, no such controller…). */
export class LimitNotEnforceableError extends EngineError {
  readonly limit: string;
  constructor(limit: string, why: string) {
    const { label } = labelOf(limit);
    super("LIMIT_NOT_ENFORCEABLE", `this server cannot enforce a ${label} limit: ${why}`);
    this.limit = limit;
  }
}

/**
 * Every uid of `serve --uid-range` belongs to an identity already: a new identity cannot
 * be given one. Not a wire code: the client did nothing wrong, so the server answers 500
 * INTERNAL (src/server/map-error.ts) and logs this, which tells the operator to widen the range.
 */
export class UidRangeExhaustedError extends EngineError {
  readonly first: number;
  readonly last: number;
  constructor(first: number, last: number) {
    super("UID_RANGE_EXHAUSTED", `every uid of --uid-range ${first}-${last} is taken: no uid is left for a new identity; widen the range`);
    this.first = first;
    this.last = last;
  }
}

/** The native launcher, through which every job starts, is not built or cannot run. */
export class LauncherUnavailableError extends EngineError {
  constructor(why: string) {
    super("LAUNCHER_UNAVAILABLE", `jobs cannot be started: ${why}. Build it with \`npm run build\` (it needs a C compiler and static libc; Debian: apt-get install gcc libc6-dev)`);
  }
}

/**
 * The job store was written by a newer jobworker: its schema version (`PRAGMA
 * user_version`) is above the one this code knows. Refused untouched rather than read
 * and written by code that would drop or misread what the newer one stored.
 */
export class StoreTooNewError extends EngineError {
  readonly path: string;
  /** The database's schema version. */
  readonly version: number;
  /** The newest version this code knows. */
  readonly known: number;
  constructor(path: string, version: number, known: number) {
    super("STORE_TOO_NEW", `the job store ${path} has schema version ${version}, newer than this jobworker knows (${known}): a newer jobworker wrote it`);
    this.path = path;
    this.version = version;
    this.known = known;
  }
}
