/** The typed client of the jobworker HTTP API: used by the CLI, the tests and other programs. */
export { JobworkerClient, parseServerUrl, type JobworkerClientOptions } from "./jobworker-client.js";
export { ClientError, isClientError, type ClientErrorCode } from "./errors.js";
export { loadCredentials, type CredentialFiles, type Credentials } from "./credentials.js";
export { toClientError, type ErrorContext } from "./transport-errors.js";
export type { JobSpec, JobLimits, JobState, JobStatus, JobRecord, JobErrorCode, JobOutput, JobPage, OwnerOptions, PageOptions, StreamName, StreamOptions, LogOptions, LogChunk } from "./types.js";
export type { ErrorCode, ErrorBody } from "./types.js";
