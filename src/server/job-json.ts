import type { JobIsolation, JobLimits, JobRecord, JobStatus } from "../engine/index.js";
import type { LimitsJson } from "./schemas.js";

/** `GET /jobs/<id>/status` body (DESIGN.md section 2): snake_case, optional fields left out. */
export interface StatusJson {
  status: JobStatus["state"];
  error_msg?: string;
  exit_code?: number;
  signal?: string;
  /** Present (true) when the kernel killed the job for exceeding its memory limit. */
  oom_killed?: true;
}

/** One job as `GET /jobs` and `GET /jobs/<id>` show it. */
export interface JobJson extends StatusJson {
  id: string;
  cmd: string;
  args: string[];
  created_at: string;
  ended_at?: string;
  stdout_bytes: number;
  stderr_bytes: number;
  /** Present (true) when output was cut short: the output cap was reached, or the disk was full. */
  truncated?: true;
  /** The resource limits that applied, when any did. */
  limits?: LimitsJson;
  /** The namespaces the job ran in, when it was isolated. */
  isolation?: JobIsolation;
}

const LIMIT_KEYS: [keyof JobLimits, keyof LimitsJson][] = [
  ["memoryBytes", "memory_bytes"],
  ["cpus", "cpus"],
  ["pids", "pids"],
  ["ioReadBps", "io_read_bps"],
  ["ioWriteBps", "io_write_bps"],
];

/** API limits → engine limits. */
export function engineLimits(json: LimitsJson): JobLimits {
  const limits: JobLimits = {};
  for (const [engine, api] of LIMIT_KEYS) if (json[api] !== undefined) limits[engine] = json[api];
  return limits;
}

/** Engine limits → API limits. */
export function limitsJson(limits: JobLimits): LimitsJson {
  const json: LimitsJson = {};
  for (const [engine, api] of LIMIT_KEYS) if (limits[engine] !== undefined) json[api] = limits[engine];
  return json;
}

/** The API's status shape of an engine status. */
export function statusJson(status: JobStatus): StatusJson {
  const json: StatusJson = { status: status.state };
  if (status.errorMsg !== undefined) json.error_msg = status.errorMsg;
  if (status.exitCode !== undefined) json.exit_code = status.exitCode;
  if (status.signal !== undefined) json.signal = status.signal;
  if (status.oomKilled) json.oom_killed = true;
  return json;
}

/**
 * The API's shape of a job record. The owner is not shown (it is the caller), nor are
 * the cwd, env names and pid: the contract lists what a record holds.
 */
export function jobJson(record: JobRecord): JobJson {
  const { status, ...rest } = statusJson(record);
  const json: JobJson = {
    id: record.id,
    cmd: record.cmd,
    args: record.args,
    status,
    ...rest,
    created_at: new Date(record.createdAt).toISOString(),
    ...(record.endedAt !== undefined ? { ended_at: new Date(record.endedAt).toISOString() } : {}),
    stdout_bytes: record.stdoutBytes,
    stderr_bytes: record.stderrBytes,
    ...(record.truncated ? { truncated: true as const } : {}),
    ...(record.limits !== undefined ? { limits: limitsJson(record.limits) } : {}),
    ...(record.isolation !== undefined ? { isolation: record.isolation } : {}),
  };
  return json;
}
