import { Readable } from "node:stream";
import type { JobPool, OutputName, StreamOptions } from "../engine/index.js";

/**
 * `pool.stream`, except that an output file that does not exist reads as empty. A job
 * that could not start never had output files, and the engine's reader fails to open
 * them (ENOENT) where the API must answer with empty output.
 *
 * The id is looked up at once (an unknown id throws before any response starts); the
 * returned stream pulls from the engine's only as fast as it is read (backpressure) and
 * destroys it when destroyed itself.
 */
export function outputStream(pool: JobPool, id: string, which: OutputName, options: StreamOptions = {}): Readable {
  const source = pool.stream(id, which, options);
  async function* bytes(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of source) yield chunk as Buffer;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    } finally {
      source.destroy();
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}
