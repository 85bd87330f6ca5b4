import { PassThrough, type Readable } from "node:stream";
import type { JobPool, OutputName, StreamOptions } from "../engine/index.js";

/**
 * `pool.stream`, except that an output file that does not exist reads as empty. A job
 * that could not start never had output files, and the engine's reader fails to open
 * them (ENOENT) where the API must answer with empty output.
 *
 * The id is looked up at once (an unknown id throws before any response starts). Plain
 * `pipe` keeps backpressure; destroying the returned stream (a client that went away)
 * destroys the engine's reader at once, even while it waits for a quiet job's next
 * bytes — which an async-generator wrapper would not do, since its `return()` waits for
 * the pending read.
 */
export function outputStream(pool: JobPool, id: string, which: OutputName, options: StreamOptions = {}): Readable {
  const source = pool.stream(id, which, options);
  const out = new PassThrough();
  source.once("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") out.end();
    else out.destroy(err);
  });
  out.once("close", () => source.destroy());
  source.pipe(out);
  return out;
}
