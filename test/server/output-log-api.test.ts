// GET /jobs/<id>/stdout|stderr with tail, since and timestamps, and GET /jobs/<id>/log,
// over real TLS with undici: on ended and running jobs, with follow; bad values refused
// naming the field; other identities' jobs do not exist; bytes unchanged without them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { request, type Agent } from "undici";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";
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
    const id = await start("echo out1; sleep 0.2; echo err1 >&2; sleep 1.2; echo out2");
    await waitEnded(alice, h.server.url, id);
    const answer = await get(`/jobs/${id}/log`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["content-type"], "application/x-ndjson");
    const log = logOf(answer.text);
    assert.deepEqual(decoded(log), [
      ["stdout", "out1\n"],
      ["stderr", "err1\n"],
      ["stdout", "out2\n"],
    ]);
    const [t1, t2, t3] = log.map((c) => Date.parse(c.time));
    assert.ok(t2! - t1! >= 150 && t2! - t1! <= 600, `0.2 s apart: ${t2! - t1!} ms`);
    assert.ok(t3! - t2! >= 1150 && t3! - t2! <= 1700, `1.2 s apart: ${t3! - t2!} ms`);
    assert.deepEqual(decoded(logOf((await get(`/jobs/${id}/log?tail=2`)).text)), [
      ["stderr", "err1\n"],
      ["stdout", "out2\n"],
    ]);
    const since = new Date(t3!).toISOString();
    assert.deepEqual(decoded(logOf((await get(`/jobs/${id}/log?since=${since}`)).text)), [["stdout", "out2\n"]]);
    assert.equal((await get(`/jobs/${id}/stdout?since=${since}`)).text, "out2\n");
    assert.equal((await get(`/jobs/${id}/stdout?since=1h`)).text, "out1\nout2\n");
    const stamped = (await get(`/jobs/${id}/stdout?timestamps=true`)).text;
    assert.equal(stamped, `${log[0]!.time} out1\n${log[2]!.time} out2\n`);
    assert.equal((await get(`/jobs/${id}/stdout?timestamps=true&offset=5`)).text, `${log[2]!.time} out2\n`);
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
