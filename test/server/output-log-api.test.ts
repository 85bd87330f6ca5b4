// GET /jobs/<id>/stdout|stderr with tail, since and timestamps, and GET /jobs/<id>/log,
// over real TLS with undici: on ended and running jobs, with follow; bad values refused
// naming the field; other identities' jobs do not exist; bytes unchanged without them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request, type Agent } from "undici";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";
import { assertCapturedWhenWritten, followStamped, linesOf, stampedScript, type StampedLine } from "../helpers/stamped-lines.js";
import { publicDir } from "../helpers/temp-dir.js";

let h: Harness;
let alice: Agent;
let bob: Agent;
const gates = publicDir();
before(async () => {
  h = await startHarness();
  alice = agentFor(h.pki.ca.certPem, h.alice);
  bob = agentFor(h.pki.ca.certPem, h.bob);
});
after(async () => {
  await alice?.close();
  await bob?.close();
  await h?.close();
  gates.remove();
});

async function start(script: string): Promise<string> {
  const answer = await call(alice, `${h.server.url}/jobs`, "PUT", { cmd: "sh", args: ["-c", script] });
  assert.equal(answer.status, 200, answer.text);
  return answer.json.id;
}

const get = (path: string, agent = alice) => call(agent, `${h.server.url}${path}`);
const logOf = (text: string) => text.trimEnd().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { stream: string; time: string; data: string });
const decoded = (log: ReturnType<typeof logOf>) => log.map((c) => [c.stream, Buffer.from(c.data, "base64").toString()]);

/** The chunks of a followed /log answer, as they arrive. */
async function* ndjsonChunks(body: AsyncIterable<Buffer>): AsyncGenerator<{ stream: "stdout" | "stderr"; time: number; data: Buffer }> {
  let pending = "";
  for await (const piece of body) {
    pending += piece.toString();
    let end: number;
    while ((end = pending.indexOf("\n")) >= 0) {
      const chunk = JSON.parse(pending.slice(0, end)) as { stream: "stdout" | "stderr"; time: string; data: string };
      pending = pending.slice(end + 1);
      yield { stream: chunk.stream, time: Date.parse(chunk.time), data: Buffer.from(chunk.data, "base64") };
    }
  }
}

describe("reading by lines and time", () => {
  it("gives the exact bytes without the new parameters, and the last lines with tail", async () => {
    const bytes = randomBytes(200_000);
    const file = `${gates.path}/random-${Date.now()}.bin`;
    writeFileSync(file, bytes);
    const id = await start(`cat ${file}; printf 'x\\ny\\nz'`);
    await waitEnded(alice, h.server.url, id);
    const raw = await request(`${h.server.url}/jobs/${id}/stdout`, { dispatcher: alice });
    assert.equal(raw.headers["content-type"], "application/octet-stream");
    assert.ok(Buffer.from(await raw.body.arrayBuffer()).equals(Buffer.concat([bytes, Buffer.from("x\ny\nz")])));
    assert.equal((await get(`/jobs/${id}/stdout?tail=2`)).text, "y\nz", "an unterminated last line counts");
    assert.equal((await get(`/jobs/${id}/stdout?tail=0`)).text, "");
    assert.equal((await get(`/jobs/${id}/stderr?tail=5`)).text, "");
  });

  it("answers /log as NDJSON in capture order, with times that match the writes", async () => {
    const gateDir = mkdtempSync(join(gates.path, "log-"));
    chmodSync(gateDir, 0o755);
    const id = await start(stampedScript(["out1", "err1", "out2"], gateDir));
    const live = await request(`${h.server.url}/jobs/${id}/log?follow=true`, { dispatcher: alice });
    assert.equal(live.statusCode, 200);
    const lines = await followStamped(linesOf(ndjsonChunks(live.body)), gateDir, 3);
    await waitEnded(alice, h.server.url, id);
    assert.deepEqual(lines.map((l) => [l.stream, l.word]), [["stdout", "out1"], ["stderr", "err1"], ["stdout", "out2"]], "capture order is write order");
    assertCapturedWhenWritten(lines);
    const text = (l: StampedLine) => `${l.word} ${l.writtenAt}\n`;
    const answer = await get(`/jobs/${id}/log`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["content-type"], "application/x-ndjson");
    const log = logOf(answer.text);
    assert.deepEqual(decoded(log), lines.map((l) => [l.stream, text(l)]));
    assert.deepEqual(log.map((c) => Date.parse(c.time)), lines.map((l) => l.capturedAt), "the ended job's log has the times the live one had");
    assert.deepEqual(decoded(logOf((await get(`/jobs/${id}/log?tail=2`)).text)), lines.slice(1).map((l) => [l.stream, text(l)]));
    const since = new Date(lines[2]!.capturedAt).toISOString();
    assert.deepEqual(decoded(logOf((await get(`/jobs/${id}/log?since=${since}`)).text)), [["stdout", text(lines[2]!)]]);
    assert.equal((await get(`/jobs/${id}/stdout?since=${since}`)).text, text(lines[2]!));
    assert.equal((await get(`/jobs/${id}/stdout?since=1h`)).text, text(lines[0]!) + text(lines[2]!));
    const stamped = (await get(`/jobs/${id}/stdout?timestamps=true`)).text;
    assert.equal(stamped, `${log[0]!.time} ${text(lines[0]!)}${log[2]!.time} ${text(lines[2]!)}`);
    const offset = text(lines[0]!).length;
    assert.equal((await get(`/jobs/${id}/stdout?timestamps=true&offset=${offset}`)).text, `${log[2]!.time} ${text(lines[2]!)}`);
  });

  it("follows a running job from its last lines (tail=0: only what comes next), on both endpoints", async () => {
    const gate = `${gates.path}/gate-${Date.now()}`;
    const id = await start(`echo a; echo b; while [ ! -e ${gate} ]; do sleep 0.02; done; echo c >&2; echo d`);
    // The first lines are there before the tail readers ask for them.
    const early = await request(`${h.server.url}/jobs/${id}/stdout?follow=true`, { dispatcher: alice });
    let seen = "";
    for await (const chunk of early.body) if ((seen += chunk) === "a\nb\n") break;
    const urls = [`/jobs/${id}/stdout?tail=1&follow=true`, `/jobs/${id}/stdout?tail=0&follow=1&timestamps=true`, `/jobs/${id}/log?tail=1&follow=true`];
    const responses = await Promise.all(urls.map((u) => request(`${h.server.url}${u}`, { dispatcher: alice })));
    const first = responses[0]!.body[Symbol.asyncIterator]();
    assert.equal(Buffer.from((await first.next()).value as Buffer).toString(), "b\n");
    const log = responses[2]!.body[Symbol.asyncIterator]();
    assert.deepEqual(decoded(logOf(Buffer.from((await log.next()).value as Buffer).toString())), [["stdout", "b\n"]]);
    assert.equal((await get(`/jobs/${id}/status`)).json.status, "running");
    writeFileSync(gate, "");
    let rest = "";
    for (let next = await first.next(); !next.done; next = await first.next()) rest += Buffer.from(next.value as Buffer).toString();
    assert.equal(rest, "d\n");
    assert.match(await responses[1]!.body.text(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z d\n$/);
    let logRest = "";
    for (let next = await log.next(); !next.done; next = await log.next()) logRest += Buffer.from(next.value as Buffer).toString();
    // c and d are written back to back: one sample may see both, so either order is capture order.
    assert.deepEqual(decoded(logOf(logRest)).sort(), [
      ["stderr", "c\n"],
      ["stdout", "d\n"],
    ]);
  });

  it("refuses bad values with a 400 naming the field, and changes nothing", async () => {
    const id = await start("echo ok");
    await waitEnded(alice, h.server.url, id);
    const cases: [string, RegExp][] = [
      [`/jobs/${id}/stdout?tail=-1`, /\btail\b/],
      [`/jobs/${id}/stdout?tail=ten`, /\btail\b/],
      [`/jobs/${id}/stdout?since=yesterday`, /\bsince\b/],
      [`/jobs/${id}/stdout?since=2026-13-01T00:00:00Z`, /\bsince\b/],
      [`/jobs/${id}/stderr?timestamps=yes`, /\btimestamps\b/],
      [`/jobs/${id}/stdout?offset=1&tail=1`, /\boffset\b.*\btail\b/],
      [`/jobs/${id}/stdout?offset=1&since=5m`, /\boffset\b.*\bsince\b/],
      [`/jobs/${id}/log?offset=3`, /"offset"/],
      [`/jobs/${id}/log?timestamps=true`, /"timestamps"/],
      [`/jobs/${id}/log?tail=1.5`, /\btail\b/],
      [`/jobs/${id}/log?since=10x`, /\bsince\b/],
    ];
    for (const [path, field] of cases) {
      const answer = await get(path);
      assert.equal(answer.status, 400, path);
      assert.equal(answer.json.code, "INVALID_REQUEST", path);
      assert.match(answer.json.error, field, `${path}: ${answer.json.error}`);
    }
    assert.equal((await get(`/jobs/${id}/stdout`)).text, "ok\n");
  });

  it("treats another identity's job as one that does not exist", async () => {
    const id = await start("echo mine");
    await waitEnded(alice, h.server.url, id);
    for (const path of [`/jobs/${id}/log`, `/jobs/${id}/stdout?tail=1`, `/jobs/${id}/log?follow=true&since=1m`]) {
      const answer = await get(path, bob);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.json.code, "JOB_NOT_FOUND");
    }
    const unknown = await get(`/jobs/00000000-0000-4000-8000-000000000000/log`);
    assert.equal(unknown.status, 404);
    assert.equal((await call(alice, `${h.server.url}/jobs/${id}/log`, "POST")).status, 405);
  });
});
