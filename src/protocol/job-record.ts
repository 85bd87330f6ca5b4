import { Type, type Static } from "@sinclair/typebox";
import { JOB_ERROR_CODES } from "./error-codes.js";
import { Limits } from "./job-request.js";

/**
 * What the server answers about jobs: `GET /jobs/<id>/status`, `GET /jobs/<id>`, a page
 * of `GET /jobs`, `GET /jobs/<id>/output`. Field names are the API's (snake_case), and
 * optional fields are left out rather than null. A new field of a record goes in
 * {@link JobStatusJson} or {@link JobRecordJson}, and in src/server/job-json.ts, which
 * builds it from the engine's record.
 */

/** The states a job can be in: "queued" only while it waits for a slot (serve --max-running-per-client, --max-running). */
export const JobState = Type.Union([Type.Literal("queued"), Type.Literal("running"), Type.Literal("error"), Type.Literal("completed")]);
export type JobState = Static<typeof JobState>;

/**
 * What a job used: from its cgroup (v1 cpuacct, memory.max_usage_in_bytes, blkio; v2
 * cpu.stat, memory.peak, io.stat), live while it runs, final once it ended. Without
 * cgroups, from its reaped process's rusage, and then `partial` (what it did not wait for
 * escapes the count, and io is what reached the disk).
 */
export const Usage = Type.Object({
  cpu_user_ms: Type.Integer({ minimum: 0 }),
  cpu_system_ms: Type.Integer({ minimum: 0 }),
  memory_peak_bytes: Type.Integer({ minimum: 0 }),
  io_read_bytes: Type.Integer({ minimum: 0 }),
  io_write_bytes: Type.Integer({ minimum: 0 }),
  partial: Type.Optional(Type.Literal(true)),
});
export type Usage = Static<typeof Usage>;

/** `GET /jobs/<id>/status`. */
export const JobStatusJson = Type.Object({
  status: JobState,
  /** Why the job could not run (state `error`), for people. */
  error_msg: Type.Optional(Type.String()),
  /** The same, for programs (state `error`): see `JOB_ERROR_CODES`. */
  error_code: Type.Optional(Type.Union(JOB_ERROR_CODES.map((code) => Type.Literal(code)))),
  /** Set once completed; 128 + n when killed by signal n. */
  exit_code: Type.Optional(Type.Integer()),
  /** The signal that killed the job, e.g. "SIGKILL". */
  signal: Type.Optional(Type.String()),
  /** Present (true) when the kernel killed the job for exceeding its memory limit. */
  oom_killed: Type.Optional(Type.Literal(true)),
  /** Present (true) when the job was stopped because it reached its `timeout_ms`. */
  timed_out: Type.Optional(Type.Literal(true)),
  /** While queued: 1 for the next of its owner's jobs to start, and so on. */
  queue_position: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type JobStatusJson = Static<typeof JobStatusJson>;

/** One job as `GET /jobs` and `GET /jobs/<id>` show it. */
export const JobRecordJson = Type.Composite([
  Type.Object({
    id: Type.String(),
    /** The identity (client certificate CN) that started the job. */
    owner: Type.String(),
    cmd: Type.String(),
    args: Type.Array(Type.String()),
  }),
  JobStatusJson,
  Type.Object({
    /** ISO 8601. */
    created_at: Type.String(),
    /** ISO 8601, once its process was started; absent while queued, and for a job that never ran. */
    started_at: Type.Optional(Type.String()),
    /** ISO 8601, once the job has ended. */
    ended_at: Type.Optional(Type.String()),
    /** Bytes of output kept so far. */
    stdout_bytes: Type.Integer(),
    stderr_bytes: Type.Integer(),
    /** Present (true) when output was cut short: the output cap was reached, or the disk was full. */
    truncated: Type.Optional(Type.Literal(true)),
    /** The resource limits that applied, when any did. */
    limits: Type.Optional(Limits),
    /** What it has used so far (final once it ended), once it started. */
    usage: Type.Optional(Usage),
    /** The job's labels, when it has any. */
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** The namespaces the job ran in, when the server isolated it. */
    isolation: Type.Optional(
      Type.Object({
        namespaces: Type.Array(Type.String()),
        network: Type.Union([Type.Literal("host"), Type.Literal("none")]),
        /** The uid and gid the job ran as, when the server chose them (a uid per identity, or --run-as). */
        uid: Type.Optional(Type.Integer()),
        gid: Type.Optional(Type.Integer()),
        /** Whether it ran with no privilege: no capability, no_new_privs, the seccomp filter. */
        confined: Type.Optional(Type.Boolean()),
        /** Whether the host was read-only to it (writable: its $HOME, /tmp, /var/tmp, serve --writable paths). */
        read_only_host: Type.Optional(Type.Boolean()),
        /** Its $HOME, as it saw it. */
        home: Type.Optional(Type.String()),
      }),
    ),
  }),
]);
export type JobRecordJson = Static<typeof JobRecordJson>;

/** One page of `GET /jobs`, newest first; `next_cursor` asks for the next page. */
export const JobPage = Type.Object({
  jobs: Type.Array(JobRecordJson),
  next_cursor: Type.Optional(Type.String()),
});
export type JobPage = Static<typeof JobPage>;

/** `GET /jobs/<id>/output`: UTF-8 text, invalid bytes as U+FFFD. */
export const JobOutput = Type.Object({ stdout: Type.String(), stderr: Type.String() });
export type JobOutput = Static<typeof JobOutput>;

/** One line of `GET /jobs/<id>/log` (NDJSON): a chunk of one stream, with its capture time. */
export const LogChunk = Type.Object({
  stream: Type.Union([Type.Literal("stdout"), Type.Literal("stderr")]),
  time: Type.String({ format: "date-time", description: "when the server saw the chunk appended (RFC 3339, milliseconds, UTC)" }),
  data: Type.String({ contentEncoding: "base64", description: "the chunk's bytes, base64" }),
});
export type LogChunk = Static<typeof LogChunk>;
