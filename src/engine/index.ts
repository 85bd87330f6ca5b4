export { JobPool } from "./job-pool.js";
export {
  DataDirLockedError,
  EngineError,
  InvalidArgumentError,
  IsolationNotAvailableError,
  TimeoutAboveMaximumError,
  StdinNotAvailableError,
  JobNotRunningError,
  TooManyJobsError,
  InvalidJobSpecError,
  JobNotFoundError,
  LimitAboveMaximumError,
  LimitNotEnforceableError,
  PoolClosedError,
  StorageFullError,
  StoreTooNewError,
  LauncherUnavailableError,
  UidRangeExhaustedError,
} from "./errors.js";
export type { IsolationOptions, IsolationReport, JobIsolation } from "./isolation/host.js";
export { LOCK_FILE } from "./data-dir-lock.js";
export { resolveUser } from "./run-as.js";
export { LIMIT_NAMES, LIMIT_RULES } from "./cgroups/limits.js";
export type { LimitName } from "./cgroups/limits.js";
export type { DataDirHealth } from "./data-dir-health.js";
export type { EngineErrorCode } from "./errors.js";
export type { JobErrorCode } from "../protocol/error-codes.js";
export { DEFAULT_JOB_PATH, defaultJobEnv } from "./job-env.js";
export { DEFAULT_OWNER } from "./job-spec.js";
export type {
  JobLimits,
  JobObserver,
  JobRecord,
  JobSpec,
  JobState,
  JobStatus,
  JobUsage,
  QueueOptions,
  ListFilter,
  OutputName,
  PageOptions,
  PoolOptions,
  ResourceControlReport,
  RetentionPolicy,
  RunAsUser,
  StreamOptions,
  LogOptions,
} from "./types.js";
export type { JobPage } from "./job-store.js";
export { DEFAULT_MAX_OUTPUT_BYTES } from "./job-pool.js";
export { INTERRUPTED_MESSAGE } from "./recovery.js";
export { parseUidRange, DEFAULT_UID_RANGE, type UidRange } from "./confinement/uid-range.js";
export { HOME_IN_JOB } from "./confinement/job-confinement.js";
export { SIGNAL_NAMES, checkSignal } from "./job-signal.js";
export type { OutputChunk } from "./output-chunks.js";
