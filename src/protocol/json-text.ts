import { StringDecoder } from "node:string_decoder";

/**
 * Bytes as the inside of a JSON string literal, chunk by chunk, so that any output size
 * is written in constant memory: `GET /jobs/<id>/output` on the server, `--json` in the
 * CLI. One StringDecoder per output, so a character split across two chunks decodes
 * whole and invalid bytes become U+FFFD.
 */
export async function* jsonTextChunks(bytes: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder("utf8");
  for await (const chunk of bytes) {
    const text = decoder.write(chunk);
    if (text) yield jsonStringBody(text);
  }
  const rest = decoder.end();
  if (rest) yield jsonStringBody(rest);
}

/** A string as it appears between the quotes of a JSON string literal. */
export function jsonStringBody(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
