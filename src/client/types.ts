/**
 * The shapes of the HTTP API (docs/api.md), as the client sees them: the protocol
 * module's (src/protocol/), under the names the client has always exported. Field names
 * are the API's own (snake_case) so that `--json` can print them unchanged. Type-only
 * imports: the client does not build the TypeBox schemas at run time.
 */
import type { JobOutput, JobPage, JobRecordJson, JobState, JobStatusJson } from "../protocol/job-record.js";
import type { JobSpec, Limits } from "../protocol/job-request.js";

export type { JobOutput, JobPage, JobSpec, JobState };
/** Optional resource limits of a job (each optional): one per row of the protocol's limits table. */
export type JobLimits = Limits;
/** `GET /jobs/<id>/status`. */
export type JobStatus = JobStatusJson;
/** One job as `GET /jobs` and `GET /jobs/<id>` describe it. */
export type JobRecord = JobRecordJson;
/** Why a job is in state `error` (its `error_code`). */
export type { JobErrorCode } from "../protocol/error-codes.js";

/** Whose jobs {@link JobworkerClient.list} and {@link JobworkerClient.listPage} ask for. */
export interface OwnerOptions {
  /**
   * Another identity's jobs, or `"*"` for every identity's: for the server's admins only
   * (others get `NOT_ADMIN`). Default: the caller's own.
   */
  owner?: string;
  /** Only jobs with every one of these labels (key and value). */
  labels?: Record<string, string>;
  /** Only jobs in this state. */
  status?: "queued" | "running" | "completed" | "error";
}

/** Options of {@link JobworkerClient.listPage}. */
export interface PageOptions extends OwnerOptions {
  /** Jobs per page, 1–1000 (the server's default is 100). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/** The two output streams of a job. */
export type StreamName = "stdout" | "stderr";

/** Options of {@link JobworkerClient.stream}. */
export interface StreamOptions {
  /** Keep the stream open and deliver new bytes live until the job ends. */
  follow?: boolean;
  /** Start at this byte (default 0). Not with `tail` or `since`. */
  offset?: number;
  /** Start at the last `tail` lines (0 with `follow`: only what comes next). */
  tail?: number;
  /** Only what was captured since then: a Date, or as the API takes it (RFC 3339, or a duration such as `10m`). */
  since?: Date | string;
  /** Prefix each line with its capture time (RFC 3339, milliseconds) and a space. */
  timestamps?: boolean;
}

/** Options of {@link JobworkerClient.log}: as {@link StreamOptions}, for both streams together. */
export type LogOptions = Pick<StreamOptions, "follow" | "tail" | "since">;

/** One chunk of `GET /jobs/<id>/log`: its stream, its capture time, its bytes. */
export interface LogChunk {
  stream: StreamName;
  /** RFC 3339, milliseconds, UTC. */
  time: string;
  data: Buffer;
}

/** The stable `code` of the server's error bodies, and the body itself. */
export type { ErrorCode } from "../protocol/error-codes.js";
export type { ErrorBody } from "../protocol/errors.js";
