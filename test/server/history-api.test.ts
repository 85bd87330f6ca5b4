// The API side of durability: paging through GET /jobs, the truncated flag at the output
// cap, and 507 while the data disk is full.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";

describe("GET /jobs pages", () => {
  let h: Harness;
  let alice: Agent;
  let bob: Agent;
  const ids: string[] = [];
  before(async () => {
    h = await startHarness();
    alice = agentFor(h.pki.ca.certPem, h.alice);
    bob = agentFor(h.pki.ca.certPem, h.bob);
    for (let i = 0; i < 23; i++) ids.push(h.server.pool.create({ cmd: "true", owner: "alice" }));
    await Promise.all(ids.map((id) => h.server.pool.wait(id)));
  });
  after(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await h?.close();
  });

  test("newest first, with no duplicates or gaps across pages", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await call(alice, `${h.server.url}/jobs?limit=10${cursor ? `&cursor=${cursor}` : ""}`);
      assert.equal(answer.status, 200, answer.text);
      seen.push(...answer.json.jobs.map((job: { id: string }) => job.id));
      cursor = answer.json.next_cursor;
      pages++;
    } while (cursor !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...ids].reverse());
  });

  test("another identity's pages hold none of them", async () => {
    const answer = await call(bob, `${h.server.url}/jobs?limit=10`);
    assert.deepEqual(answer.json, { jobs: [] });
  });

  for (const query of ["limit=0", "limit=1001", "limit=ten", "cursor=abc", "cursor=-1", "page=2"]) {
    test(`refuses ?${query} with 400 and a message`, async () => {
      const answer = await call(alice, `${h.server.url}/jobs?${query}`);
      assert.equal(answer.status, 400);
      assert.equal(typeof answer.json.error, "string");
    });
  }
});

describe("output cap", () => {
  let h: Harness;
  let alice: Agent;
  before(async () => {
    h = await startHarness({ pool: { maxOutputBytes: 1000 } });
    alice = agentFor(h.pki.ca.certPem, h.alice);
  });
  after(async () => {
    await alice?.close();
    await h?.close();
  });

  test("a job past the cap is stopped, its record says truncated, its output is the cap", async () => {
    const created = await call(alice, `${h.server.url}/jobs`, "PUT", { cmd: "sh", args: ["-c", "while :; do head -c 512 /dev/zero; done"] });
    const { id } = created.json;
    const status = await waitEnded(alice, h.server.url, id);
    assert.equal(status.status, "error");
    assert.match(status.error_msg, /output limit reached/);
    const record = await call(alice, `${h.server.url}/jobs/${id}`);
    assert.equal(record.json.truncated, true);
    assert.equal(record.json.stdout_bytes, 1000);
    assert.equal((await call(alice, `${h.server.url}/jobs/${id}/stdout`)).text.length, 1000);
  });
});

describe("full disk", () => {
  test("PUT /jobs answers 507 while the data disk is full, and works again once space returns", async (t) => {
    const mountPoint = mkdtempSync(join(tmpdir(), "jobworker-small-disk-"));
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint]);
    if (mounted.status !== 0) {
      rmSync(mountPoint, { recursive: true, force: true });
      t.skip(`cannot mount a tmpfs here (needs root): ${mounted.stderr.toString().trim()}`);
      return;
    }
    const dataDir = join(mountPoint, "data");
    mkdirSync(dataDir);
    const h = await startHarness({ pool: { dataDir } });
    const alice = agentFor(h.pki.ca.certPem, h.alice);
    try {
      const filler = (await call(alice, `${h.server.url}/jobs`, "PUT", { cmd: "head", args: ["-c", "67108864", "/dev/zero"] })).json.id;
      await waitEnded(alice, h.server.url, filler);
      const refused = await call(alice, `${h.server.url}/jobs`, "PUT", { cmd: "true" });
      assert.equal(refused.status, 507);
      assert.match(refused.json.error, /room|full/);
      assert.equal((await call(alice, `${h.server.url}/jobs/${filler}`)).json.truncated, true);
      assert.equal((await call(alice, `${h.server.url}/jobs/${filler}`, "DELETE")).status, 200);
      assert.equal((await call(alice, `${h.server.url}/jobs`, "PUT", { cmd: "true" })).status, 200);
    } finally {
      await alice.close();
      await h.close();
      spawnSync("umount", [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });
});
