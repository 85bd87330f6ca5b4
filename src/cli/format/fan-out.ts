// How `run --on` reports each host at the end: one line for people, one object for --json.
import type { HostResult } from "../run/run-jobs.js";
import { summarizeStatus } from "./job.js";

/** "web1: completed (exit 0), job 3f0c…", "web2: failed: cannot reach …", "web3: not started (interrupted)". */
export function formatHostResult(r: HostResult): string {
  if (r.skipped) return `${r.name}: not started (interrupted)`;
  if (r.record) {
    const ended = r.record.status === "running" ? "the output ended but the job is still running" : summarizeStatus(r.record);
    return `${r.name}: ${ended}, job ${r.record.id}`;
  }
  const err = r.error as { message?: string; hint?: string } | undefined;
  const why = `${err?.message ?? String(r.error)}${err?.hint ? ` (${err.hint})` : ""}`;
  return `${r.name}: failed: ${why}${r.id ? `, job ${r.id}` : ""}`;
}

/** The `--json` form of one host: its context, server, and the job's record and output, or the error. */
export function hostResultJson(r: HostResult): Record<string, unknown> {
  const where = { context: r.name, server: r.url };
  if (r.skipped) return { ...where, error: "not started (interrupted)", code: "NOT_STARTED" };
  if (r.record) return { ...where, ...r.record, ...r.output };
  const err = r.error as { message?: string; code?: string } | undefined;
  return { ...where, ...(r.id && { id: r.id }), error: err?.message ?? String(r.error), ...(typeof err?.code === "string" && { code: err.code }) };
}
