// Streaming: live follow readers, a reader that goes away, the output endpoint with
// invalid UTF-8, split characters and a big output.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { StringDecoder } from "node:string_decoder";
import { request, type Agent } from "undici";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";
import { publicDir } from "../helpers/temp-dir.js";

let h: Harness;
let alice: Agent;
// Where the tests open the jobs' gates: a path the jobs see (the data directory is
// masked from them, and /tmp is each job's own).
const gates = publicDir();
before(async () => {
  h = await startHarness();
  alice = agentFor(h.pki.ca.certPem, h.alice);
});
after(async () => {
  await alice?.close();
  await h?.close();
  gates.remove();
});

async function start(body: unknown): Promise<string> {
  const answer = await call(alice, `${h.server.url}/jobs`, "PUT", body);
  assert.equal(answer.status, 200, answer.text);
  return answer.json.id;
}

const openFds = () => readdirSync("/proc/self/fd").length;

test("several follow readers see the whole output live, each from its offset", async () => {
  // The job waits for a file that the test creates once every reader is attached, so
  // the readers are attached while it runs, without relying on timing.
  const gate = `${gates.path}/gate-${Date.now()}`;
  const id = await start({ cmd: "sh", args: ["-c", `echo one; while [ ! -e ${gate} ]; do sleep 0.05; done; echo two; echo three >&2`] });
  const urls = [
    `${h.server.url}/jobs/${id}/stdout?follow=true`,
    `${h.server.url}/jobs/${id}/stdout?follow=true`,
    `${h.server.url}/jobs/${id}/stdout?follow=1&offset=4`,
    `${h.server.url}/jobs/${id}/stderr?follow=true`,
  ];
  const responses = await Promise.all(urls.map((url) => request(url, { dispatcher: alice })));
  for (const res of responses) assert.equal(res.statusCode, 200);
  // The first reader has seen "one" while the job still runs.
  const first = responses[0]!.body[Symbol.asyncIterator]();
  const chunk = await first.next();
  assert.equal(Buffer.from(chunk.value as Buffer).toString(), "one\n");
  assert.equal((await call(alice, `${h.server.url}/jobs/${id}/status`)).json.status, "running");
  const { writeFile } = await import("node:fs/promises");
  await writeFile(gate, "");
  let rest = "";
  for (let next = await first.next(); !next.done; next = await first.next()) rest += Buffer.from(next.value as Buffer).toString();
  assert.equal(rest, "two\n");
  const texts = await Promise.all(responses.slice(1).map((res) => res.body.text()));
  assert.deepEqual(texts, ["one\ntwo\n", "two\n", "three\n"]);
});

test("a follow reader that disconnects mid-stream leaves the server healthy and leaks nothing", async () => {
  const gate = `${gates.path}/gate2-${Date.now()}`;
  const id = await start({ cmd: "sh", args: ["-c", `echo started; while [ ! -e ${gate} ]; do sleep 0.05; done; echo done`] });
  await call(alice, `${h.server.url}/jobs`); // the agent's connection exists before counting
  const baseline = openFds();
  const { Agent: UndiciAgent } = await import("undici");
  for (let n = 0; n < 3; n++) {
    const leaver = new UndiciAgent({ connect: { ca: h.pki.ca.certPem, cert: h.alice.certPem, key: h.alice.keyPem, servername: "localhost" } });
    const res = await request(`${h.server.url}/jobs/${id}/stdout?follow=true`, { dispatcher: leaver });
    const iterator = res.body[Symbol.asyncIterator]();
    assert.equal(Buffer.from((await iterator.next()).value as Buffer).toString(), "started\n");
    res.body.destroy();
    await leaver.destroy();
  }
  // Each reader's open output file and connection are released; what may stay until the
  // job ends is the job's own change watch (one descriptor, whoever follows).
  const settled = async (limit: number) => {
    for (let i = 0; i < 500 && openFds() > limit; i++) await new Promise((r) => setTimeout(r, 10));
    return openFds();
  };
  assert.ok((await settled(baseline + 1)) <= baseline + 1, `open descriptors back to ${baseline} (+1), now ${openFds()}`);
  assert.equal((await call(alice, `${h.server.url}/jobs/${id}/status`)).json.status, "running");
  const { writeFile } = await import("node:fs/promises");
  await writeFile(gate, "");
  assert.deepEqual(await waitEnded(alice, h.server.url, id), { status: "completed", exit_code: 0 });
  assert.equal((await call(alice, `${h.server.url}/jobs/${id}/stdout`)).text, "started\ndone\n");
  assert.ok((await settled(baseline)) <= baseline, `open descriptors back to ${baseline}, now ${openFds()}`);
  const line = h.audit.map((l) => JSON.parse(l)).find((l) => l.route === "/jobs/:id/stdout" && l.job_id === id && l.aborted);
  assert.ok(line, "the aborted stream is in the audit log");
});

test("output decodes invalid UTF-8 as U+FFFD and keeps characters split across chunks", async () => {
  const id = await start({ cmd: "printf", args: ["ok \\377\\376 \\303\\251 \\342\\202"] });
  await waitEnded(alice, h.server.url, id);
  const answer = await call(alice, `${h.server.url}/jobs/${id}/output`);
  assert.deepEqual(answer.json, { stdout: "ok \ufffd\ufffd \u00e9 \ufffd", stderr: "" });
  // 65535 ASCII bytes, then "é": its two bytes straddle the reader's 64 KiB chunks.
  const id2 = await start({ cmd: "sh", args: ["-c", "head -c 65535 /dev/zero | tr '\\0' a; printf '\\303\\251\\n\"\\\\'"] });
  await waitEnded(alice, h.server.url, id2);
  const answer2 = await call(alice, `${h.server.url}/jobs/${id2}/output`);
  assert.equal(answer2.json.stdout, `${"a".repeat(65535)}é\n"\\`);
});

test("a 20 MiB output is streamed as JSON", async () => {
  const size = 20 * 1024 * 1024;
  const id = await start({ cmd: "sh", args: ["-c", `head -c ${size} /dev/zero | tr '\\0' x; echo fin >&2`] });
  await waitEnded(alice, h.server.url, id);
  const res = await request(`${h.server.url}/jobs/${id}/output`, { dispatcher: alice });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers["transfer-encoding"], "chunked", "streamed, not buffered");
  // Checked while streaming: the prefix, the number of x's, and the tail.
  const decoder = new StringDecoder("utf8");
  let head = "";
  let xs = 0;
  let tail = "";
  for await (const chunk of res.body) {
    const text = decoder.write(chunk as Buffer);
    if (head.length < 11) head += text.slice(0, 11 - head.length);
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 120) xs++;
    tail = (tail + text).slice(-40);
  }
  assert.equal(head, '{"stdout":"');
  assert.equal(xs, size);
  assert.ok(tail.endsWith('","stderr":"fin\\n"}'), tail);
});

test("DELETE of a job being followed ends the follower's stream", async () => {
  const id = await start({ cmd: "sleep", args: ["30"] });
  const res = await request(`${h.server.url}/jobs/${id}/stdout?follow=true`, { dispatcher: alice });
  const reading = res.body.text().then(
    () => "ended",
    () => "aborted",
  );
  assert.equal((await call(alice, `${h.server.url}/jobs/${id}`, "DELETE")).status, 200);
  assert.ok(["ended", "aborted"].includes(await reading));
  assert.equal((await call(alice, `${h.server.url}/jobs`)).status, 200);
});
