import type { Writable } from "node:stream";
import pino, { type DestinationStream } from "pino";
import type { SonicBoom } from "sonic-boom";

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
  /**
   * Present when an admin acted on another identity's job: that job's owner (and for
   * `GET /jobs?owner=`, the identity listed, or `*`). `identity` is the admin.
   */
  owner?: string;
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

/** Where audit lines go: a pino destination (SonicBoom, for files and stdout) or any Writable. */
export type AuditDestination = DestinationStream | Writable;

/**
 * Opens the audit log file for appending (mode 0600) as a pino destination: buffered,
 * bounded (past AUDIT_BUFFER_LIMIT lines are dropped, see `createAuditWriter`), and
 * reopened by `reopen()` so that logrotate can move it away (`serve` reopens on SIGHUP).
 */
export function openAuditFile(path: string): Promise<SonicBoom> {
  const destination = pino.destination({ dest: path, append: true, mkdir: false, sync: false, mode: 0o600, maxLength: AUDIT_BUFFER_LIMIT });
  return new Promise((done, fail) => {
    destination.once("ready", () => {
      destination.removeAllListeners("error");
      done(destination);
    });
    destination.once("error", fail);
  });
}

/**
 * Builds the audit writer: pino, one JSON object per line: `"log":"audit"` and the entry's
 * fields. Writing never holds up or fails a request: a broken
 * destination (EPIPE on a closed stdout) is reported once and then ignored, and a
 * destination too slow to keep up does not make memory grow without bound: past
 * AUDIT_BUFFER_LIMIT lines are dropped, and the next line that fits says how many were
 * lost, so the gap is visible in the log itself.
 */
export function createAuditWriter(out: AuditDestination | false, onFailure: (message: string) => void): AuditWriter {
  if (out === false) return () => {};
  const events = out as unknown as NodeJS.EventEmitter & { writableLength?: number; destroyed?: boolean };
  // No level, pid or host: each line is its entry, tagged "log":"audit" so that a shipper
  // that merges streams can tell it apart (and pino's level formatter needs a field).
  const logger = pino({ base: null, timestamp: false, formatters: { level: () => ({ log: "audit" }) } }, out);
  let failed = false;
  let dropped = 0;
  let reportingDrops = false;
  const noteDropped = () => {
    if (dropped++ === 0) onFailure("the audit log destination is not keeping up: dropping lines until it drains");
  };
  events.on("error", (err: Error) => {
    if (!failed) onFailure(`audit log write failed: ${err.message}`);
    failed = true;
  });
  // A SonicBoom destination drops what would pass its maxLength, and says so.
  events.on("drop", () => {
    if (!reportingDrops) noteDropped();
  });
  const reportDrops = () => {
    if (dropped === 0 || failed || events.destroyed) return;
    const count = dropped;
    dropped = 0;
    reportingDrops = true;
    let lost = false;
    const onDrop = () => (lost = true);
    events.once("drop", onDrop);
    logger.info({ time: new Date().toISOString(), dropped_lines: count });
    events.off("drop", onDrop);
    reportingDrops = false;
    if (lost) dropped += count;
  };
  // A plain Writable buffers without bound: the limit is ours to keep.
  events.on("drain", reportDrops);
  return (entry) => {
    if (failed || events.destroyed) return;
    if ((events.writableLength ?? 0) > AUDIT_BUFFER_LIMIT) return noteDropped();
    reportDrops();
    logger.info(entry);
  };
}
