import { PassThrough, pipeline, type Writable } from "node:stream";
import { StdinNotAvailableError } from "./errors.js";

/**
 * A job's stdin for a writer that comes before the job's process does (it is queued, or
 * still starting): what is written waits in one stream buffer (its highWaterMark, so the
 * writer is held back, not buffered without end) and flows into the process's stdin once
 * it runs. If the job never runs (cancelled, failed to start), the writer gets an error.
 */
export function stdinOnceStarted(processStdin: Promise<Writable | undefined>): Writable {
  const held = new PassThrough();
  void processStdin.then((stdin) => {
    if (!stdin || stdin.destroyed || stdin.writableEnded) {
      held.destroy(new StdinNotAvailableError("the job ended before it ran"));
      return;
    }
    // An error on either side ends both: the writer hears of a stdin the job closed.
    pipeline(held, stdin, () => {});
  });
  return held;
}
