// Lines that carry the time they were written, each followed by a gate the test opens once
// it has received the line: a capture time is then bounded by causes (written before,
// received after), not by how long a sleep took on a loaded host.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** A captured line of {@link stampedScript}: its word, and when it was written, captured and received (ms since the epoch). */
export interface StampedLine {
  stream: "stdout" | "stderr";
  word: string;
  writtenAt: number;
  capturedAt: number;
  receivedAt: number;
}

/**
 * A shell script that prints each word with the time it does so (GNU date, the same clock
 * as the server's; ms), on stdout or on stderr for a word that starts with "err", and
 * then waits for that word's gate in `gateDir` before the next one.
 */
export function stampedScript(words: readonly string[], gateDir: string): string {
  return words
    .map((word) => {
      const echo = `echo "${word} $(date +%s%3N)"${word.startsWith("err") ? " >&2" : ""}`;
      return `${echo}; while [ ! -e ${join(gateDir, word)} ]; do sleep 0.01; done`;
    })
    .join("; ");
}

/**
 * Follows a running job's lines of {@link stampedScript} (`lines` gives each line with its
 * stream and capture time, as it arrives), opening each line's gate once it has arrived.
 * Returns the lines with their times.
 */
export async function followStamped(lines: AsyncIterable<{ stream: "stdout" | "stderr"; capturedAt: number; text: string }>, gateDir: string, count: number): Promise<StampedLine[]> {
  const got: StampedLine[] = [];
  for await (const { stream, capturedAt, text } of lines) {
    const receivedAt = Date.now();
    const match = /^(\S+) (\d+)$/.exec(text);
    assert.ok(match, `a stamped line: ${JSON.stringify(text)}`);
    got.push({ stream, word: match[1]!, writtenAt: Number(match[2]), capturedAt, receivedAt });
    writeFileSync(join(gateDir, match[1]!), "");
    if (got.length === count) break;
  }
  return got;
}

/** Each capture time lies between the line's write and its arrival here: the time is when the line was written, to the index's precision. */
export function assertCapturedWhenWritten(lines: readonly StampedLine[], label = ""): void {
  for (const line of lines) {
    assert.ok(line.writtenAt <= line.capturedAt, `${label} ${line.word}: captured at ${line.capturedAt}, before it was written at ${line.writtenAt}`);
    assert.ok(line.capturedAt <= line.receivedAt, `${label} ${line.word}: captured at ${line.capturedAt}, after it arrived at ${line.receivedAt}`);
  }
}

/** Splits chunks of text into whole lines, each with its chunk's stream and time (a chunk may end mid-line). */
export async function* linesOf(chunks: AsyncIterable<{ stream: "stdout" | "stderr"; time: number; data: Buffer }>): AsyncGenerator<{ stream: "stdout" | "stderr"; capturedAt: number; text: string }> {
  const pending = { stdout: "", stderr: "" };
  const firstTime = { stdout: 0, stderr: 0 };
  for await (const { stream, time, data } of chunks) {
    if (pending[stream] === "") firstTime[stream] = time;
    pending[stream] += data.toString();
    let end: number;
    while ((end = pending[stream].indexOf("\n")) >= 0) {
      yield { stream, capturedAt: firstTime[stream], text: pending[stream].slice(0, end) };
      pending[stream] = pending[stream].slice(end + 1);
      firstTime[stream] = time;
    }
  }
}
