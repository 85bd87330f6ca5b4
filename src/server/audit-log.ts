import type { Writable } from "node:stream";

/** One line of the audit log: who did what to which job, and how it ended. */
export interface AuditEntry {
  /** ISO 8601 time the request arrived. */
  time: string;
  /** The client certificate's CN. */
  identity: string | null;
  method: string;
  /** The route pattern ("/jobs/:id/status"), or the raw path for unknown routes (cut short). */
  route: string;
  /** The job the request was about (or created), if any. */
  job_id: string | null;
  status: number;
  duration_ms: number;
  /** Present and true when the client went away before the response was complete. */
  aborted?: true;
  /** The error code, for requests refused before routing (Node's HTTP parser). */
  error_code?: string;
}

/** Writes audit entries as JSON lines; `false` disables the log. */
export type AuditWriter = (entry: AuditEntry) => void;

/** Most audit bytes waiting for a slow destination before lines are dropped (and counted). */
export const AUDIT_BUFFER_LIMIT = 8 * 1024 * 1024;

/**
 * Builds the audit writer. Writing never holds up or fails a request: a broken
 * destination (EPIPE on a closed stdout) is reported once and then ignored, and a
 * destination too slow to keep up (a stalled pipe) does not make memory grow without
 * bound: past AUDIT_BUFFER_LIMIT lines are dropped, and once it drains one line says how
 * many were lost, so the gap is visible in the log itself.
 */
export function createAuditWriter(out: Writable | false, onFailure: (message: string) => void): AuditWriter {
  if (out === false) return () => {};
  let failed = false;
  let dropped = 0;
  out.on("error", (err) => {
    if (!failed) onFailure(`audit log write failed: ${err.message}`);
    failed = true;
  });
  out.on("drain", () => {
    if (dropped === 0 || failed || out.destroyed) return;
    out.write(`${JSON.stringify({ time: new Date().toISOString(), dropped_lines: dropped })}\n`);
    dropped = 0;
  });
  return (entry) => {
    if (failed || out.destroyed) return;
    if (out.writableLength > AUDIT_BUFFER_LIMIT) {
      if (dropped++ === 0) onFailure("the audit log destination is not keeping up: dropping lines until it drains");
      return;
    }
    out.write(`${JSON.stringify(entry)}\n`);
  };
}
