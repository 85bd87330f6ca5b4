import type { JobObserver, JobRecord } from "../types.js";

/** Those told of jobs' records and ends (`JobPool.observe`): the server's metrics, for one. */
export class JobObservers {
  private readonly observers = new Set<JobObserver>();

  /** Tells `observer` from now on; returns the function that stops telling it. */
  add(observer: JobObserver): () => void {
    this.observers.add(observer);
    return () => void this.observers.delete(observer);
  }

  /** One event to every observer; an observer that throws never breaks the job's bookkeeping. */
  tell(event: keyof JobObserver, record: JobRecord): void {
    for (const observer of this.observers) {
      try {
        observer[event]?.(record);
      } catch {
        // The observer's problem: the job was recorded (or ended) all the same.
      }
    }
  }
}
