// `--json` with a job's output in it (`output --json`, `run --json`, `run --on --json`),
// written as it is read: the same text `printJson` would print, in bounded memory
// whatever the output's size.
import { randomUUID } from "node:crypto";
import { Readable, type Writable } from "node:stream";
import type { JobworkerClient } from "../../client/index.js";
import { jsonTextChunks } from "../../protocol/json-text.js";
import { copyStream } from "../job-output.js";

/** A string value of the document that is read (a job's output as UTF-8) only when its turn comes. */
export class StreamedText {
  constructor(readonly open: () => Promise<AsyncIterable<Buffer>>) {}
}

/**
 * Prints `value` as `JSON.stringify(value, null, 2)` and a newline, each
 * {@link StreamedText} in it streamed in its place. Raises `OutputClosedError` when our
 * stdout goes away.
 */
export async function printJsonStreamed(value: unknown, out: Writable = process.stdout): Promise<void> {
  const nonce = randomUUID();
  const texts: StreamedText[] = [];
  // Each streamed value stands in the document as a marker no real string can be.
  const json = JSON.stringify(value, (_key, v: unknown) => (v instanceof StreamedText ? `\u0001${nonce}:${texts.push(v) - 1}` : v), 2);
  const marker = new RegExp(`"\\\\u0001${nonce}:(\\d+)"`, "g");
  async function* pieces(): AsyncGenerator<string> {
    let at = 0;
    for (const match of json.matchAll(marker)) {
      yield `${json.slice(at, match.index)}"`;
      yield* jsonTextChunks(await texts[Number(match[1])]!.open());
      yield '"';
      at = match.index + match[0].length;
    }
    yield `${json.slice(at)}\n`;
  }
  await copyStream(Readable.from(pieces(), { objectMode: false }), out);
}

/** A job's `stdout` and `stderr`, whole, as streamed text values (the `--json` of `run`). */
export function jobOutputText(client: JobworkerClient, id: string): { stdout: StreamedText; stderr: StreamedText } {
  return {
    stdout: new StreamedText(() => client.stream(id, "stdout")),
    stderr: new StreamedText(() => client.stream(id, "stderr")),
  };
}
