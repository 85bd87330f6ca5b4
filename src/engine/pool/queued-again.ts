import type { JobStore } from "../job-store.js";
import type { JobSpec } from "../types.js";
import type { TakenUpAgain } from "./admission.js";

/**
 * The jobs that were queued when the last server stopped, cleanly or not, taken up again
 * in their submission order: they were acknowledged and never ran, so starting them now
 * runs each exactly once (docs/design.md, "Queue"). One that the new server's rules no
 * longer admit (a lower maximum, say) is recorded as cancelled, with the reason.
 */
export function takeUpQueuedJobs(store: JobStore, takeUp: (spec: JobSpec, again: TakenUpAgain) => void): number {
  const waiting = store.queued();
  for (const { record, spec } of waiting) {
    try {
      takeUp(spec, { id: record.id, createdAt: record.createdAt });
    } catch (err) {
      store.finish({
        ...record,
        state: "error",
        errorCode: "CANCELLED",
        errorMsg: `cancelled at restart, before it ran: ${err instanceof Error ? err.message : String(err)}`,
        endedAt: Date.now(),
      }, "queued");
    }
  }
  return waiting.length;
}
