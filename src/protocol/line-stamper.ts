/**
 * Prefixes each line of a byte stream with the capture time of its first byte (RFC 3339
 * in UTC with milliseconds) and a space: `?timestamps=true` and `output -t`. A line is
 * what ends with a newline, or the stream's end; a line split across chunks gets one
 * prefix, from the chunk that holds its first byte.
 */
export class LineStamper {
  private atLineStart = true;

  stamp(time: number, data: Buffer): Buffer {
    const parts: Buffer[] = [];
    const prefix = Buffer.from(`${new Date(time).toISOString()} `, "latin1");
    let from = 0;
    while (from < data.length) {
      if (this.atLineStart) parts.push(prefix);
      const newline = data.indexOf(10, from);
      const to = newline === -1 ? data.length : newline + 1;
      parts.push(data.subarray(from, to));
      this.atLineStart = newline !== -1;
      from = to;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
