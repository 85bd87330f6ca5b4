import type { JobRecord, JobStatus } from "../../client/index.js";

/**
 * A job's status in a few words: "queued (position 2)", "running", "completed (exit 0)",
 * "completed (killed by SIGKILL, exit 137)", "error: command not found: foo".
 */
export function summarizeStatus(status: JobStatus): string {
  if (status.status === "error") return `error: ${status.error_msg ?? "the job could not start"}`;
  if (status.status === "completed") {
    if (status.timed_out) return `timed out (${status.signal ? `killed by ${status.signal}, ` : ""}exit ${status.exit_code ?? "?"})`;
    if (status.oom_killed) return `completed (out of memory: killed by ${status.signal ?? "SIGKILL"}, exit ${status.exit_code ?? "?"})`;
    if (status.signal) return `completed (killed by ${status.signal}, exit ${status.exit_code ?? "?"})`;
    return `completed (exit ${status.exit_code ?? "?"})`;
  }
  if (status.status === "queued" && status.queue_position !== undefined) return `queued (position ${status.queue_position})`;
  return status.status;
}

/** "5s", "3m", "2h", "4d": how long ago `iso` was, relative to `now`. */
export function formatAge(iso: string, now: number = Date.now()): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "?";
  const s = Math.max(0, Math.floor((now - then) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Quotes one word for display the way a POSIX shell would need it. */
export function shellQuote(word: string): string {
  if (word !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A job's command line as one display line (control characters escaped). */
export function formatCommand(cmd: string, args: readonly string[]): string {
  // eslint-disable-next-line no-control-regex
  return [cmd, ...args].map(shellQuote).join(" ").replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The EXIT column: the exit code, with the signal when there is one; "-" while running or in error. */
export function formatExit(job: JobStatus): string {
  if (job.exit_code === undefined) return "-";
  if (job.oom_killed) return `${job.exit_code} out of memory`;
  return job.signal ? `${job.exit_code} ${job.signal}` : String(job.exit_code);
}

const JOB_COLUMNS = ["ID", "STATUS", "EXIT", "AGE", "COMMAND"];

/** The STATUS column: the status, or "timed out" for a job its --timeout stopped (as `status` says). */
function statusCell(j: JobRecord): string {
  const status = j.timed_out ? "timed out" : j.status;
  return j.truncated ? `${status} (truncated)` : status;
}

/** One job's cells of the `list` table. */
function jobCells(j: JobRecord, now: number): string[] {
  return [j.id, statusCell(j), formatExit(j), formatAge(j.created_at, now), formatCommand(j.cmd, j.args ?? [])];
}

/** Rows of cells as aligned text, every column padded but the last. */
function alignColumns(rows: readonly string[][]): string {
  const last = rows[0]!.length - 1;
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c < last ? cell.padEnd(widths[c]!) : cell)).join("  ")).join("\n") + "\n";
}

/** Options of {@link formatJobTable}. */
export interface JobTableOptions {
  /** Add an OWNER column first: the listing spans identities (`list --owner`, `--all-owners`). */
  showOwner?: boolean;
  /** The time ages are counted to (default now). */
  now?: number;
}

/** The `list` table: [OWNER,] ID, STATUS, EXIT, AGE, COMMAND, columns aligned, newest first as given. */
export function formatJobTable(jobs: readonly JobRecord[], { showOwner = false, now = Date.now() }: JobTableOptions = {}): string {
  if (!showOwner) return alignColumns([JOB_COLUMNS, ...jobs.map((j) => jobCells(j, now))]);
  // A CN may hold any printable character but no control character (the server refuses those).
  return alignColumns([["OWNER", ...JOB_COLUMNS], ...jobs.map((j) => [j.owner, ...jobCells(j, now)])]);
}

/** The `list --on` table: the same columns after HOST, the context each job is on. */
export function formatHostJobTable(rows: readonly { host: string; job: JobRecord }[], now: number = Date.now()): string {
  return alignColumns([["HOST", ...JOB_COLUMNS], ...rows.map(({ host, job }) => [host, ...jobCells(job, now)])]);
}
