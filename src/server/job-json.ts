import type { JobRecord, JobStatus } from "../engine/index.js";
import type { JobRecordJson, JobStatusJson } from "../protocol/job-record.js";
import { apiLimitsOf } from "../protocol/limits.js";

/** The API's status shape (src/protocol/job-record.ts) of an engine status: snake_case, optional fields left out. */
export function statusJson(status: JobStatus): JobStatusJson {
  const json: JobStatusJson = { status: status.state };
  if (status.errorMsg !== undefined) json.error_msg = status.errorMsg;
  if (status.errorCode !== undefined) json.error_code = status.errorCode;
  if (status.exitCode !== undefined) json.exit_code = status.exitCode;
  if (status.signal !== undefined) json.signal = status.signal;
  if (status.oomKilled) json.oom_killed = true;
  if (status.timedOut) json.timed_out = true;
  return json;
}

/**
 * The API's shape of a job record. The owner is shown (an admin may list every identity's
 * jobs); the cwd, env names and pid are not: the contract lists what a record holds.
 */
export function jobJson(record: JobRecord): JobRecordJson {
  const { status, ...rest } = statusJson(record);
  return {
    id: record.id,
    owner: record.owner,
    cmd: record.cmd,
    args: record.args,
    status,
    ...rest,
    created_at: new Date(record.createdAt).toISOString(),
    ...(record.endedAt !== undefined ? { ended_at: new Date(record.endedAt).toISOString() } : {}),
    stdout_bytes: record.stdoutBytes,
    stderr_bytes: record.stderrBytes,
    ...(record.truncated ? { truncated: true as const } : {}),
    ...(record.limits !== undefined ? { limits: apiLimitsOf(record.limits) } : {}),
    ...(record.isolation !== undefined ? { isolation: record.isolation } : {}),
    ...(record.labels !== undefined ? { labels: record.labels } : {}),
  };
}
