import { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { JobPool } from "../engine/index.js";

/**
 * The body of `GET /jobs/<id>/output` as a stream: `{"stdout":"…","stderr":"…"}` built
 * chunk by chunk from the job's output files, so any output size is served in constant
 * memory. `Readable.from` pulls the generator only when the response wants more
 * (backpressure); a client that disconnects destroys the stream, which ends the
 * generator and with it the file readers.
 *
 * Bytes are decoded as UTF-8 with one StringDecoder per output, so a character split
 * across two chunks decodes whole and invalid bytes become U+FFFD.
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
      yield* escaped(stdout);
      yield '","stderr":"';
      yield* escaped(stderr);
      yield '"}';
    } finally {
      stdout.destroy();
      stderr.destroy();
    }
  }
  return Readable.from(body(), { objectMode: false });
}

async function* escaped(bytes: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder("utf8");
  for await (const chunk of bytes) {
    const text = decoder.write(chunk as Buffer);
    if (text) yield jsonStringBody(text);
  }
  const rest = decoder.end();
  if (rest) yield jsonStringBody(rest);
}

/** A string as it appears between the quotes of a JSON string literal. */
export function jsonStringBody(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
