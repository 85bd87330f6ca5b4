import type { Readable } from "node:stream";
import type { OutputChunk } from "../../src/index.js";

/** Reads a stream to its end and returns every byte. */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads a stream until `predicate` holds for what has arrived so far, then destroys the stream. */
export async function readUntil(stream: Readable, predicate: (soFar: Buffer) => boolean): Promise<Buffer> {
  let soFar = Buffer.alloc(0);
  for await (const chunk of stream) {
    soFar = Buffer.concat([soFar, chunk as Buffer]);
    if (predicate(soFar)) return soFar;
  }
  throw new Error(`stream ended before the expected output; got ${JSON.stringify(soFar.toString())}`);
}

/** Every chunk of a log reader (`pool.log`), to its end. */
export async function chunksOf(stream: AsyncIterable<unknown>): Promise<OutputChunk[]> {
  const chunks: OutputChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk as OutputChunk);
  return chunks;
}
