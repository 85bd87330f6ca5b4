export { JobPool } from "./job-pool.js";
export { EngineError, InvalidArgumentError, InvalidJobSpecError, JobNotFoundError, PoolClosedError } from "./errors.js";
export type { EngineErrorCode } from "./errors.js";
export { DEFAULT_JOB_PATH, defaultJobEnv } from "./job-env.js";
export { DEFAULT_OWNER } from "./job-spec.js";
export type { JobRecord, JobSpec, JobState, JobStatus, ListFilter, OutputName, PoolOptions, StreamOptions } from "./types.js";
