import { Readable } from "node:stream";
import type { JobPool } from "../engine/index.js";
import { jsonTextChunks } from "../protocol/json-text.js";

/**
 * The body of `GET /jobs/<id>/output` as a stream: `{"stdout":"…","stderr":"…"}` built
 * chunk by chunk from the job's output files, so any output size is served in constant
 * memory. `Readable.from` pulls the generator only when the response wants more
 * (backpressure); a client that disconnects destroys the stream, which ends the
 * generator and with it the file readers.
 * Bytes are decoded as UTF-8 as `jsonTextChunks` says.
 */
export function jsonOutputStream(pool: JobPool, id: string): Readable {
  // Opened now, not lazily, so that an unknown id throws before the response starts.
  const stdout = pool.stream(id, "stdout");
  let stderr: Readable;
  try {
    stderr = pool.stream(id, "stderr");
  } catch (err) {
    stdout.destroy();
    throw err;
  }
  async function* body(): AsyncGenerator<string> {
    try {
      yield '{"stdout":"';
      yield* jsonTextChunks(stdout);
      yield '","stderr":"';
      yield* jsonTextChunks(stderr);
      yield '"}';
    } finally {
      stdout.destroy();
      stderr.destroy();
    }
  }
  return Readable.from(body(), { objectMode: false });
}
