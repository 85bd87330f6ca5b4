// The text form of `run --on`: every line a host's job writes, prefixed with the host's
// context name ("web1: …"), written to our stdout (or stderr) as whole lines only, so
// that the lines of several hosts never interleave mid-line.

/**
 * Lines longer than this are cut into pieces of this size, each prefixed and ended with a
 * newline: a host that writes megabytes without a newline must not make us hold them
 * (`--output-dir` keeps the exact bytes).
 */
export const MAX_PREFIXED_LINE = 64 * 1024;

/**
 * Re-chunks `src` into runs of complete lines, each line preceded by `prefix`. One
 * chunk out per chunk in (holding every complete line of it), so a single write carries
 * whole lines. The partial line at the end of a chunk waits for its newline; a last
 * line without one is flushed, with a newline added, when `src` ends.
 */
export async function* prefixLines(src: AsyncIterable<Buffer>, prefix: string, maxLine: number = MAX_PREFIXED_LINE): AsyncGenerator<Buffer> {
  const head = Buffer.from(prefix);
  const newline = Buffer.from("\n");
  let partial: Buffer[] = [];
  let partialBytes = 0;
  for await (const chunk of src) {
    const out: Buffer[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      out.push(head, ...partial, chunk.subarray(start, nl + 1));
      partial = [];
      partialBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      partial.push(chunk.subarray(start));
      partialBytes += chunk.length - start;
      if (partialBytes >= maxLine) {
        const line = Buffer.concat(partial);
        let at = 0;
        for (; line.length - at >= maxLine; at += maxLine) out.push(head, line.subarray(at, at + maxLine), newline);
        partial = at < line.length ? [line.subarray(at)] : [];
        partialBytes = line.length - at;
      }
    }
    if (out.length > 0) yield Buffer.concat(out);
  }
  if (partialBytes > 0) yield Buffer.concat([head, ...partial, newline]);
}
