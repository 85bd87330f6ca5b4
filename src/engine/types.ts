/** Public shapes of the job engine (README.md, "The library"). */
import type { JobErrorCode } from "../protocol/error-codes.js";
import type { EngineLimits } from "../protocol/limits.js";
import type { IsolationOptions, JobIsolation } from "./isolation/host.js";
import type { UidRange } from "./confinement/uid-range.js";
export type { JobIsolation };

/** Every state a job can be in. */
export const JOB_STATES = ["queued", "running", "error", "completed"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Which output stream of a job. */
export type OutputName = "stdout" | "stderr";

/** What `create` takes. */
export interface JobSpec {
  /** Program to execute: a bare name is looked up in the job's PATH, anything with a `/` is a path. */
  cmd: string;
  /** Arguments, passed verbatim (no shell). */
  args?: string[];
  /** Identity that owns the job; `list({owner})` and the server's authorization use it. */
  owner?: string;
  /** Extra environment variables, added to the clean default environment. */
  env?: Record<string, string>;
  /** Working directory; defaults to the pool's `defaultCwd`. */
  cwd?: string;
  /** Resource limits, each optional, within the pool's maxima (see `PoolOptions.limits`). */
  limits?: JobLimits;
  /** "none": a network namespace with only loopback (needs isolation); default "host". */
  network?: "host" | "none";
  /** Stop the job (as `stop` does) once it has run this long, in milliseconds. */
  timeoutMs?: number;
  /** Give the job a stdin pipe for `JobPool.openStdin` (default: /dev/null). */
  stdin?: boolean;
  /** Labels to find it by (`list({ labels })`): keys of a-z 0-9 . _ / - (63 at most), values of 256 at most, 32 labels at most. */
  labels?: Record<string, string>;
}

/**
 * Resource limits of a job, enforced with cgroups: one optional number per row of the
 * protocol's limits table (src/protocol/limits.ts), e.g. `memoryBytes` (RSS and page cache,
 * no swap; beyond it the kernel kills the job, "out of memory"), `cpus` (a fraction of
 * cores per period), `pids` (processes and threads at once), `ioReadBps`/`ioWriteBps`
 * (bytes per second on the data directory's disk).
 */
export type JobLimits = EngineLimits;

/** What `status` returns. */
export interface JobStatus {
  state: JobState;
  /** Set when state is "error": why the job could not run (or was interrupted). */
  errorMsg?: string;
  /** Set when state is "error": the same, for programs (e.g. "COMMAND_NOT_FOUND"). */
  errorCode?: JobErrorCode;
  /** Set when state is "completed": the exit code, or 128+n when killed by signal n. */
  exitCode?: number;
  /** Set when the job was killed by a signal, e.g. "SIGKILL". */
  signal?: string;
  /** Set when the kernel killed the job for exceeding its memory limit (then `signal` is "SIGKILL"). */
  oomKilled?: true;
  /** Set when the job was stopped because it reached its timeout. */
  timedOut?: true;
  /** While queued: 1 for the next of its owner's jobs to start, and so on. */
  queuePosition?: number;
}

/** What a job used (see `JobRecord.usage`). */
export interface JobUsage {
  cpuUserMs: number;
  cpuSystemMs: number;
  memoryPeakBytes: number;
  ioReadBytes: number;
  ioWriteBytes: number;
  /** From the reaped process's rusage, not a cgroup: what it did not wait for is not counted. */
  partial?: true;
}

/** The full record of a job, as `get` and `list` return it. */
export interface JobRecord extends JobStatus {
  id: string;
  owner: string;
  cmd: string;
  args: string[];
  cwd: string;
  /** Names of the extra environment variables the job was given (values are not kept). */
  envNames: string[];
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** When its process was started; absent while queued and for a job that never ran. */
  startedAt?: number;
  endedAt?: number;
  /** PID of the job's main process while it runs (also its process group id). */
  pid?: number;
  /** Bytes of stdout / stderr written so far. */
  stdoutBytes: number;
  stderrBytes: number;
  /** Set when output was cut short: the output limit was reached, or the disk was full. */
  truncated?: boolean;
  /** The resource limits that applied to the job (its own, else the pool's defaults and maxima); absent for none. */
  limits?: JobLimits;
  /** The namespaces the job ran in; absent when it was not isolated. */
  isolation?: JobIsolation;
  /** When a job with a timeout is (or was) to be stopped, in milliseconds since the epoch. */
  deadlineAt?: number;
  /** Its labels; absent for none. */
  labels?: Record<string, string>;
  /** What it used: live while it runs, final once it ended; absent before it started and where nothing measures it. */
  usage?: JobUsage;
}

/**
 * Told of jobs as they come and go (`JobPool.observe`), for counting them: the server's
 * metrics. Called synchronously, right after the change is recorded; keep it cheap.
 */
export interface JobObserver {
  /**
   * A job was recorded: running, or already ended in state "error" (it failed to start;
   * no `ended` follows for it).
   */
  recorded?(record: JobRecord): void;
  /** A job that was recorded running has ended: its final record. Once per such job. */
  ended?(record: JobRecord): void;
}

/** Options of `stream`. */
export interface StreamOptions {
  /** Byte offset to start at (default 0). */
  offset?: number;
  /** Keep the stream open and deliver new bytes until the job ends (default false). */
  follow?: boolean;
  /** Start at the last `tail` lines (0: only what comes next). Not with `offset`. */
  tail?: number;
  /** Only output captured at or after this time (a Date, or ms since the epoch). Not with `offset`. */
  since?: Date | number;
  /** Prefix each line with its capture time (RFC 3339, milliseconds, UTC) and a space. */
  timestamps?: boolean;
}

/** Options of `log`: both streams in capture order. */
export interface LogOptions {
  follow?: boolean;
  /** The last `tail` lines of the two streams together, in capture order. */
  tail?: number;
  since?: Date | number;
}

/** Options of `JobPool.open`. */
export interface PoolOptions {
  /** How fast the output watch takes events under load (output-watcher.ts); for benchmarks. */
  outputWatch?: import("./output-watcher.js").WatchRate;
  /** Directory that holds job output (and, with persistence, job records). Created if missing. */
  dataDir: string;
  /** Time between SIGTERM and SIGKILL when stopping a job (default 5000 ms). */
  stopGraceMs?: number;
  /** Working directory of jobs that do not name one (default: os.tmpdir()). */
  defaultCwd?: string;
  /** Base environment of every job (default: see `defaultJobEnv`). */
  baseEnv?: Record<string, string>;
  /**
   * Most bytes kept of each of a job's stdout and stderr (default 1 GiB). A job that
   * writes more is stopped, its output cut at the cap, and its record marked `truncated`.
   */
  maxOutputBytes?: number;
  /** Retention of finished jobs: removed once older than `maxAgeMs`, or beyond the newest `maxCount`. */
  retain?: RetentionPolicy;
  /**
   * Resource control. `defaults` apply to jobs that do not ask; `maxima` bind every job (a
   * job that asks for nothing gets the default, else the maximum).
   */
  limits?: { defaults?: JobLimits; maxima?: JobLimits };
  /**
   * Whether to give every job its own cgroup (default "auto": where the host allows it).
   * `false` runs jobs without cgroups (and refuses every limit).
   */
  cgroups?: "auto" | false;
  /** Run jobs as this unprivileged user (the server keeps its own rights). See `resolveUser`. */
  runAs?: RunAsUser;
  /**
   * Namespaces for every job (PID with an init, mount with private /tmp, IPC, UTS; network
   * on request), where the host allows it (root, the helper built). `false` turns it off.
   * See `JobPool.isolation()` for what applies.
   */
  isolation?: false | IsolationOptions;
  /**
   * How a root server confines jobs (docs/security.md): each identity its own uid from
   * `uidRange` (default 700000000-700999999), no privilege, the host read-only but for
   * `writable` paths, `masks` (and the data directory) made empty. `runAs` puts every
   * job under one user instead; `runAs` root turns confinement off.
   */
  confinement?: { uidRange?: UidRange; writable?: string[]; masks?: string[] };
  /**
   * Limits over all of one identity's jobs together (a cgroup per identity above its
   * jobs'): `serve --client-max-memory --client-max-pids --client-max-cpus`. On a root
   * server with cgroups, those not given are sized to the host (`hostDefaultLimits`).
   */
  clientLimits?: Pick<JobLimits, "memoryBytes" | "pids" | "cpus">;
  /** Where the native launcher is, for embedders that install it elsewhere (default: the one `npm run build` made). */
  launcherProgram?: string;
  /** Default limits sized to the host (processes, memory) for jobs that ask for none, on a root server with cgroups; `false` turns them off. */
  hostDefaultLimits?: boolean;
  /** Most jobs running at once, per identity and in all, and how many may wait (see `QueueOptions`). */
  queue?: QueueOptions;
  /**
   * Job timeouts: `defaultMs` applies to jobs that ask for none, `maxMs` bounds every job
   * (a job that asks for none gets the default, else the maximum), as for limits.
   */
  timeouts?: { defaultMs?: number; maxMs?: number };
}

/**
 * The slots (`JobPool`'s queue, pool/job-queue.ts): beyond `maxRunningPerOwner` jobs of one
 * identity, or `maxRunning` of the whole pool, jobs wait in state "queued" and start in
 * submission order, identities taking turns; at most `maxQueuedPerOwner` wait (default
 * 1000; 0: refuse instead of waiting). Without either maximum every job starts at once.
 */
export interface QueueOptions {
  maxRunningPerOwner?: number;
  maxRunning?: number;
  maxQueuedPerOwner?: number;
}

/** The one user every job runs as (`runAs`); root turns confinement off. */
export interface RunAsUser {
  name: string;
  uid: number;
  gid: number;
  /** The user's home directory, the jobs' HOME. */
  home: string;
  /** Supplementary group ids (besides `gid`). */
  groups?: number[];
}

/** What the pool can enforce on this host, for the operator (see `JobPool.resourceControl`). */
export interface ResourceControlReport {
  /** Whether jobs get their own cgroup (so processes that left the job's process group are killed too). */
  cgroups: boolean;
  /** How every process of a job is killed: "cgroup.kill" (v2), "freezer" (v1), "procs" (v1 without freezer), or "process-group". */
  killMethod: "cgroup.kill" | "freezer" | "procs" | "process-group";
  /** Per limit: "v1" or "v2" (the cgroup version that enforces it), or undefined when it cannot be enforced. */
  enforced: Record<keyof JobLimits, "v1" | "v2" | undefined>;
  /** The directories that hold this pool's job cgroups, one per hierarchy (empty without cgroups). */
  parentDirs: string[];
  /** One line per thing that cannot be done, and why. */
  problems: string[];
  /** One line for a log: what is available. */
  summary: string;
}

/** Which finished jobs to keep; either limit, or both. */
export interface RetentionPolicy {
  maxAgeMs?: number;
  maxCount?: number;
}

/** Options of `listPage`. */
export interface PageOptions extends ListFilter {
  /** Records per page (default 100, at most 1000). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** Filter of `list`: every field given must match. */
export interface ListFilter {
  owner?: string;
  /** Jobs in this state only. */
  state?: JobState;
  /** Jobs with every one of these labels (key and value). */
  labels?: Record<string, string>;
}
