/**
 * The shapes of the HTTP API (docs/api.md), as the client sees them. Field names
 * are the API's own (snake_case) so that `--json` can print them unchanged.
 */

/** What `PUT /jobs` accepts. */
export interface JobSpec {
  cmd: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** "none": only loopback, in a network namespace of its own (the server must isolate jobs). */
  network?: "host" | "none";
  limits?: JobLimits;
}

/** Optional resource limits of a job (each optional). */
export interface JobLimits {
  memory_bytes?: number;
  cpus?: number;
  pids?: number;
  io_read_bps?: number;
  io_write_bps?: number;
}

/** The three states a job can be in. */
export type JobState = "running" | "error" | "completed";

/** `GET /jobs/<id>/status`. */
export interface JobStatus {
  status: JobState;
  /** Why the job could not start (state `error`). */
  error_msg?: string;
  /** Set once completed; 128 + n when killed by signal n. */
  exit_code?: number;
  /** The signal that killed the job, e.g. "SIGKILL". */
  signal?: string;
  /** True when the kernel killed the job for exceeding its memory limit ("out of memory"). */
  oom_killed?: true;
}

/** One job as `GET /jobs` and `GET /jobs/<id>` describe it. */
export interface JobRecord extends JobStatus {
  id: string;
  cmd: string;
  args: string[];
  /** ISO 8601. */
  created_at: string;
  /** ISO 8601, once the job has ended. */
  ended_at?: string;
  /** Bytes of output kept so far. */
  stdout_bytes: number;
  stderr_bytes: number;
  /** True when output was cut short (the server's output cap, or a full disk). */
  truncated?: true;
  /** The resource limits that applied to the job, when any did. */
  limits?: JobLimits;
  /** The namespaces the job ran in, when the server isolated it. */
  isolation?: { namespaces: string[]; network: "host" | "none" };
}

/** One page of `GET /jobs`, newest first; `next_cursor` asks for the next page. */
export interface JobPage {
  jobs: JobRecord[];
  next_cursor?: string;
}

/** Options of {@link JobworkerClient.listPage}. */
export interface PageOptions {
  /** Jobs per page, 1–1000 (the server's default is 100). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/** `GET /jobs/<id>/output`: UTF-8 text, invalid bytes as U+FFFD. Use `stream` for exact bytes. */
export interface JobOutput {
  stdout: string;
  stderr: string;
}

/** The two output streams of a job. */
export type StreamName = "stdout" | "stderr";

/** Options of {@link JobworkerClient.stream}. */
export interface StreamOptions {
  /** Keep the stream open and deliver new bytes live until the job ends. */
  follow?: boolean;
  /** Start at this byte (default 0). */
  offset?: number;
}
