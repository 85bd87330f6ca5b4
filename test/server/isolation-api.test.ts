// Isolation through the API: `network: "none"` in PUT /jobs, the record's `isolation`,
// a job that cannot reach the server's own port, and the 400 of a server without isolation.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";

const root = process.getuid?.() === 0;

describe("an isolating server", { skip: !root && "needs root (namespaces)" }, () => {
  let h: Harness;
  let alice: Agent;
  before(async () => {
    h = await startHarness({ pool: { isolation: {} } });
    alice = agentFor(h.pki.ca.certPem, h.alice);
  });
  after(async () => {
    await alice?.close();
    await h?.close();
  });

  test('a job with network "none" cannot connect to the server\'s own port; its record says so', async () => {
    const { port } = new URL(h.server.url);
    const probe = `require("net").connect(${port}, "127.0.0.1").on("connect", () => process.exit(0)).on("error", (e) => { console.log(e.code); process.exit(3) })`;
    const put = await call(alice, `${h.server.url}/jobs`, "PUT", { cmd: process.execPath, args: ["-e", probe], network: "none" });
    assert.equal(put.status, 200, put.text);
    await waitEnded(alice, h.server.url, put.json.id);
    const record = await call(alice, `${h.server.url}/jobs/${put.json.id}`);
    assert.equal(record.json.exit_code, 3);
    assert.deepEqual({ namespaces: record.json.isolation?.namespaces, network: record.json.isolation?.network }, { namespaces: ["pid", "mount", "ipc", "uts", "net"], network: "none" });
    assert.equal(record.json.isolation?.confined, true);
    assert.equal((await call(alice, `${h.server.url}/jobs/${put.json.id}/stdout`)).text, "ECONNREFUSED\n");
  });

  test("a network other than host or none is refused", async () => {
    const put = await call(alice, `${h.server.url}/jobs`, "PUT", { cmd: "true", network: "bridge" });
    assert.equal(put.status, 400);
    assert.match(put.json.error, /network/);
  });
});

describe("a server without isolation", () => {
  let h: Harness;
  let alice: Agent;
  before(async () => {
    h = await startHarness({ pool: { isolation: false } });
    alice = agentFor(h.pki.ca.certPem, h.alice);
  });
  after(async () => {
    await alice?.close();
    await h?.close();
  });

  test('refuses network "none" with a clear 400 and creates no job', async () => {
    const put = await call(alice, `${h.server.url}/jobs`, "PUT", { cmd: "true", network: "none" });
    assert.equal(put.status, 400);
    assert.match(put.json.error, /network "none" needs isolation/);
    assert.equal(put.json.code, "ISOLATION_NOT_AVAILABLE");
    assert.deepEqual((await call(alice, `${h.server.url}/jobs`)).json.jobs, []);
  });

  test("runs jobs without namespaces, and the record says so", async () => {
    const put = await call(alice, `${h.server.url}/jobs`, "PUT", { cmd: "true" });
    await waitEnded(alice, h.server.url, put.json.id);
    const isolation = (await call(alice, `${h.server.url}/jobs/${put.json.id}`)).json.isolation;
    // As root the job is still confined (its own uid, no privilege), without namespaces.
    if (process.getuid?.() === 0) assert.deepEqual(isolation?.namespaces, []);
    else assert.equal(isolation, undefined);
  });
});
