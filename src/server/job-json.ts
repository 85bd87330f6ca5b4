import type { JobRecord, JobStatus, JobUsage } from "../engine/index.js";
import type { JobRecordJson, JobStatusJson, Usage } from "../protocol/job-record.js";
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
  if (status.queuePosition !== undefined) json.queue_position = status.queuePosition;
  return json;
}

function usageJson(usage: JobUsage): Usage {
  return {
    cpu_user_ms: usage.cpuUserMs,
    cpu_system_ms: usage.cpuSystemMs,
    memory_peak_bytes: usage.memoryPeakBytes,
    io_read_bytes: usage.ioReadBytes,
    io_write_bytes: usage.ioWriteBytes,
    ...(usage.partial && { partial: true as const }),
  };
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
    ...(record.startedAt !== undefined ? { started_at: new Date(record.startedAt).toISOString() } : {}),
    ...(record.endedAt !== undefined ? { ended_at: new Date(record.endedAt).toISOString() } : {}),
    stdout_bytes: record.stdoutBytes,
    stderr_bytes: record.stderrBytes,
    ...(record.truncated ? { truncated: true as const } : {}),
    ...(record.limits !== undefined ? { limits: apiLimitsOf(record.limits) } : {}),
    ...(record.isolation !== undefined ? { isolation: record.isolation } : {}),
    ...(record.usage !== undefined ? { usage: usageJson(record.usage) } : {}),
    ...(record.labels !== undefined ? { labels: record.labels } : {}),
  };
}
