// Resource limits through the API: the `limits` body field, the operator's maxima and
// defaults, the record's `limits` and `oom_killed`, and a server that cannot enforce limits.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";

const MIB = 1024 * 1024;
const root = process.getuid?.() === 0;

describe("limits on a server with cgroups", { skip: !root && "needs root (cgroups)" }, () => {
  let h: Harness;
  let alice: Agent;
  let base: string;
  before(async () => {
    h = await startHarness({ pool: { limits: { defaults: { pids: 100 }, maxima: { memoryBytes: 512 * MIB, cpus: 1 } } } });
    alice = agentFor(h.pki.ca.certPem, h.alice);
    base = h.server.url;
  });
  after(async () => {
    await alice?.close();
    await h?.close();
  });

  test("a job's limits show in its record, with the defaults and maxima that applied", async () => {
    const put = await call(alice, `${base}/jobs`, "PUT", { cmd: "true", limits: { memory_bytes: 64 * MIB, cpus: 0.5 } });
    assert.equal(put.status, 200, put.text);
    await waitEnded(alice, base, put.json.id);
    const record = await call(alice, `${base}/jobs/${put.json.id}`);
    assert.deepEqual(record.json.limits, { memory_bytes: 64 * MIB, cpus: 0.5, pids: 100 });
    const plain = await call(alice, `${base}/jobs`, "PUT", { cmd: "true" });
    await waitEnded(alice, base, plain.json.id);
    assert.deepEqual((await call(alice, `${base}/jobs/${plain.json.id}`)).json.limits, { memory_bytes: 512 * MIB, cpus: 1, pids: 100 });
  });

  test("a limit above the maximum is refused with a clear 400", async () => {
    const answer = await call(alice, `${base}/jobs`, "PUT", { cmd: "true", limits: { cpus: 2 } });
    assert.equal(answer.status, 400);
    assert.deepEqual(answer.json, { error: "cpus limit 2 CPUs is above this server's maximum of 1 CPUs", code: "LIMIT_ABOVE_MAXIMUM" });
  });

  test("a job killed for exceeding its memory limit says so: oom_killed", async () => {
    const hog = "const kept = []; for (;;) kept.push(Buffer.alloc(1 << 20, 1));";
    const put = await call(alice, `${base}/jobs`, "PUT", { cmd: process.execPath, args: ["-e", hog], limits: { memory_bytes: 96 * MIB } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(await waitEnded(alice, base, put.json.id), { status: "completed", exit_code: 137, signal: "SIGKILL", oom_killed: true });
    const list = await call(alice, `${base}/jobs`);
    assert.equal(list.json.jobs.find((j: { id: string }) => j.id === put.json.id).oom_killed, true);
  });
});

describe("limits on a server without cgroups", () => {
  let h: Harness;
  let alice: Agent;
  let base: string;
  before(async () => {
    h = await startHarness({ pool: { cgroups: false } });
    alice = agentFor(h.pki.ca.certPem, h.alice);
    base = h.server.url;
  });
  after(async () => {
    await alice?.close();
    await h?.close();
  });

  test("a job that asks for a limit is refused, clearly; others run", async () => {
    const answer = await call(alice, `${base}/jobs`, "PUT", { cmd: "true", limits: { memory_bytes: 64 * MIB } });
    assert.equal(answer.status, 400);
    assert.match(answer.json.error, /^this server cannot enforce a memory limit: /);
    const plain = await call(alice, `${base}/jobs`, "PUT", { cmd: "true" });
    assert.equal(plain.status, 200);
    assert.deepEqual(await waitEnded(alice, base, plain.json.id), { status: "completed", exit_code: 0 });
  });
});
