// A job's stdin through the API (issue 13): `"stdin": true`, then PUT /jobs/<id>/stdin
// streams the body into it, byte for byte, with backpressure; one writer; 409 where it
// cannot be written; the usual 404 for others.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { request, type Agent } from "undici";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";

describe("a job's stdin", () => {
  let h: Harness;
  let alice: Agent;
  let bob: Agent;
  before(async () => {
    h = await startHarness({ pool: { stopGraceMs: 300 } });
    alice = agentFor(h.pki.ca.certPem, h.alice);
    bob = agentFor(h.pki.ca.certPem, h.bob);
  });
  after(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await h?.close();
  });

  async function startJob(body: Record<string, unknown>): Promise<string> {
    const put = await call(alice, `${h.server.url}/jobs`, "PUT", body);
    assert.equal(put.status, 200, put.text);
    return put.json.id;
  }

  function sendStdin(agent: Agent, id: string, body: Buffer | Readable) {
    return request(`${h.server.url}/jobs/${id}/stdin`, { dispatcher: agent, method: "PUT", body, headers: { "content-type": "application/octet-stream" } });
  }

  test("5 MB of random bytes through cat come back with the same sha256; the body's end is EOF", async () => {
    const bytes = randomBytes(5 * 1024 * 1024);
    const id = await startJob({ cmd: "cat", stdin: true });
    const sent = await sendStdin(alice, id, Readable.from([bytes.subarray(0, 1 << 20), bytes.subarray(1 << 20)]));
    assert.equal(sent.statusCode, 200, await sent.body.text());
    await waitEnded(alice, h.server.url, id);
    const out = await request(`${h.server.url}/jobs/${id}/stdout`, { dispatcher: alice });
    const digest = createHash("sha256").update(Buffer.from(await out.body.arrayBuffer())).digest("hex");
    assert.equal(digest, createHash("sha256").update(bytes).digest("hex"));
    assert.deepEqual((await call(alice, `${h.server.url}/jobs/${id}/status`)).json, { status: "completed", exit_code: 0 });
  });

  test("a job that never reads holds the sender: the server does not buffer the body", async () => {
    const id = await startJob({ cmd: "sleep", args: ["100"], stdin: true });
    const offered = 256 * 1024 * 1024;
    let pulled = 0;
    const chunk = Buffer.alloc(64 * 1024, 1);
    const source = new Readable({
      read() {
        if (pulled >= offered) return void this.push(null);
        pulled += chunk.length;
        this.push(chunk);
      },
    });
    const upload = sendStdin(alice, id, source).catch(() => undefined);
    // Wait until the upload stalls: the same count twice, half a second apart (bounded).
    let last = -1;
    for (let i = 0; i < 60 && pulled !== last; i++) {
      last = pulled;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(pulled, last, "the sender is held");
    assert.ok(pulled < 32 * 1024 * 1024, `the sender was held after ${pulled} bytes of ${offered}`);
    // A second writer meanwhile: 409, with the code.
    const second = await sendStdin(alice, id, Buffer.from("x"));
    assert.equal(second.statusCode, 409);
    assert.equal(((await second.body.json()) as { code: string }).code, "STDIN_NOT_AVAILABLE");
    await call(alice, `${h.server.url}/jobs/${id}/stop`, "POST");
    source.destroy();
    await upload;
  });

  test("409 for a job without stdin and for one that has ended; another identity gets 404", async () => {
    const plain = await startJob({ cmd: "sleep", args: ["100"] });
    const refused = await sendStdin(alice, plain, Buffer.from("x"));
    assert.equal(refused.statusCode, 409);
    assert.match(((await refused.body.json()) as { error: string }).error, /started without stdin/);
    await call(alice, `${h.server.url}/jobs/${plain}/stop`, "POST");

    const ended = await startJob({ cmd: "true", stdin: true });
    await waitEnded(alice, h.server.url, ended);
    const late = await sendStdin(alice, ended, Buffer.from("x"));
    assert.equal(late.statusCode, 409);
    assert.match(((await late.body.json()) as { error: string }).error, /ended/);

    const mine = await startJob({ cmd: "cat", stdin: true });
    const foreign = await sendStdin(bob, mine, Buffer.from("not yours"));
    assert.equal(foreign.statusCode, 404);
    assert.deepEqual(await foreign.body.json(), { error: "job not found", code: "JOB_NOT_FOUND" });
    assert.equal((await sendStdin(alice, mine, Buffer.from("mine\n"))).statusCode, 200);
    await waitEnded(alice, h.server.url, mine);
    assert.equal((await call(alice, `${h.server.url}/jobs/${mine}/stdout`)).text, "mine\n");
  });
});
