/**
 * Errors raised by the job engine. Each has a stable `code` that callers (the HTTP
 * server, the CLI) map to their own answers; messages are written for people.
 */
export type EngineErrorCode =
  | "JOB_NOT_FOUND"
  | "INVALID_JOB_SPEC"
  | "POOL_CLOSED"
  | "JOB_LIMIT_REACHED"
  | "STORAGE_FULL"
  | "INVALID_ARGUMENT";

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

/** The data directory's disk is full: no new job until space returns. */
export class StorageFullError extends EngineError {
  constructor(detail = "the data directory's disk is full") {
    super("STORAGE_FULL", `${detail}; no new jobs until space is freed`);
  }
}
