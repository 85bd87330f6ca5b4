// The audit writer against a destination that stalls: memory stays bounded, and the gap
// is reported in the log once the destination catches up.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { AUDIT_BUFFER_LIMIT, createAuditWriter, type AuditEntry } from "../../src/server/audit-log.js";

const entry: AuditEntry = { time: "2026-01-01T00:00:00.000Z", identity: "alice", method: "GET", route: "/jobs", job_id: null, status: 200, duration_ms: 1 };

test("a stalled destination gets at most the buffer limit, then a count of the lines dropped", () => {
  const written: string[] = [];
  const stalled: Array<() => void> = [];
  const out = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      stalled.push(done); // nothing is acknowledged until we say so
    },
  });
  const failures: string[] = [];
  const audit = createAuditWriter(out, (message) => failures.push(message));
  const lineBytes = JSON.stringify(entry).length + 1;
  const total = Math.ceil(AUDIT_BUFFER_LIMIT / lineBytes) + 500;
  for (let i = 0; i < total; i++) audit(entry);
  assert.ok(out.writableLength <= AUDIT_BUFFER_LIMIT + lineBytes, `buffered ${out.writableLength} bytes`);
  assert.equal(failures.length, 1, "one line says lines are being dropped");
  // The destination catches up: every queued write completes, 'drain' follows.
  while (stalled.length > 0) stalled.shift()!();
  const last = JSON.parse(written[written.length - 1]!);
  assert.ok(last.dropped_lines >= 499, JSON.stringify(last));
  assert.equal(written.length - 1 + last.dropped_lines, total, "every line is either written or counted");
});
