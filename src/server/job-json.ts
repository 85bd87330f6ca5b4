import type { JobRecord, JobStatus } from "../engine/index.js";

/** `GET /jobs/<id>/status` body (DESIGN.md section 2): snake_case, optional fields left out. */
export interface StatusJson {
  status: JobStatus["state"];
  error_msg?: string;
  exit_code?: number;
  signal?: string;
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
}

/** The API's status shape of an engine status. */
export function statusJson(status: JobStatus): StatusJson {
  const json: StatusJson = { status: status.state };
  if (status.errorMsg !== undefined) json.error_msg = status.errorMsg;
  if (status.exitCode !== undefined) json.exit_code = status.exitCode;
  if (status.signal !== undefined) json.signal = status.signal;
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
  };
  return json;
}
