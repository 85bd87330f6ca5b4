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
}

/** Writes audit entries as JSON lines; `false` disables the log. */
export type AuditWriter = (entry: AuditEntry) => void;

/**
 * Builds the audit writer. Writing is fire-and-forget: the log must never hold up or fail
 * a request, so a broken destination (EPIPE on a closed stdout) is reported once and
 * then ignored.
 */
export function createAuditWriter(out: Writable | false, onFailure: (message: string) => void): AuditWriter {
  if (out === false) return () => {};
  let failed = false;
  out.on("error", (err) => {
    if (!failed) onFailure(`audit log write failed: ${err.message}`);
    failed = true;
  });
  return (entry) => {
    if (failed || out.destroyed) return;
    out.write(`${JSON.stringify(entry)}\n`);
  };
}
