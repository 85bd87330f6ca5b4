// GET /healthz through real mTLS clients: 200 for any identity, 503 with the reason while
// the data disk is full (a real small tmpfs, as in the engine's disk-full test;
// test/engine/data-dir-health.test.ts covers a read-only store), and back to 200 once fixed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { agentFor, call, startHarness, type Harness } from "./fixture.js";

describe("GET /healthz", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("answers 200 {status: ok} to any authenticated identity", async () => {
    for (const creds of [h.alice, h.bob]) {
      const agent = agentFor(h.pki.ca.certPem, creds);
      const answer = await call(agent, `${h.server.url}/healthz`);
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(answer.json, { status: "ok" });
      await agent.close();
    }
  });

  it("refuses a query parameter like any route", async () => {
    const agent = agentFor(h.pki.ca.certPem, h.alice);
    const withQuery = await call(agent, `${h.server.url}/healthz?verbose=1`);
    assert.equal(withQuery.status, 400, withQuery.text);
    assert.equal(withQuery.json.code, "INVALID_REQUEST");
    await agent.close();
  });

  it("answers other methods 405 METHOD_NOT_ALLOWED with Allow: GET, as the job routes do", async () => {
    const agent = agentFor(h.pki.ca.certPem, h.alice);
    for (const method of ["PUT", "POST", "DELETE", "PATCH"] as const) {
      const answer = await call(agent, `${h.server.url}/healthz`, method);
      assert.equal(answer.status, 405, method);
      assert.deepEqual(answer.json, { error: "method not allowed", code: "METHOD_NOT_ALLOWED" });
      assert.equal(answer.headers.allow, "GET");
    }
    await agent.close();
  });

  it("turns 503 with the reason on a full data disk and a read-only store, and 200 again once fixed", async (t) => {
    const base = mkdtempSync(join(tmpdir(), "jobworker-healthz-"));
    const mountPoint = join(base, "small-disk");
    mkdirSync(mountPoint);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint]);
    if (mounted.status !== 0) {
      rmSync(base, { recursive: true, force: true });
      t.skip(`cannot mount a tmpfs here (needs root): ${mounted.stderr.toString().trim()}`);
      return;
    }
    let small: Harness | undefined;
    try {
      small = await startHarness({ pool: { dataDir: join(mountPoint, "data") }, metricsListen: { host: "127.0.0.1", port: 0 } });
      const agent = agentFor(small.pki.ca.certPem, small.bob);
      const url = `${small.server.url}/healthz`;
      // The same answer in plain HTTP beside /metrics, for probes without a certificate.
      const plainUrl = small.server.metricsUrl!.replace(/\/metrics$/, "/healthz");
      const plain = async () => {
        const res = await request(plainUrl);
        return { status: res.statusCode, json: (await res.body.json()) as { code?: string; error?: string; status?: string } };
      };
      assert.equal((await call(agent, url)).status, 200);
      assert.deepEqual(await plain(), { status: 200, json: { status: "ok" } });

      // Fill the disk (head stops at ENOSPC with a non-zero status, as expected).
      const filler = join(mountPoint, "filler");
      spawnSync("sh", ["-c", `head -c ${64 * 1024 * 1024} /dev/zero > '${filler}'`]);
      const full = await call(agent, url);
      assert.equal(full.status, 503, full.text);
      assert.equal(full.json.code, "UNHEALTHY");
      assert.match(full.json.error, /data disk is full/);
      assert.deepEqual(await plain(), { status: 503, json: full.json });
      rmSync(filler);
      assert.equal((await call(agent, url)).status, 200);
      assert.equal((await plain()).status, 200);
      await agent.close();
    } finally {
      await small?.close();
      spawnSync("umount", [mountPoint]);
      rmSync(base, { recursive: true, force: true });
    }
  });
});
