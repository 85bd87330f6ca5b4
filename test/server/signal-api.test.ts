// POST /jobs/<id>/signal over mTLS: one signal to the caller's running job; the same 404
// for another identity's job as for none; 409 once it has ended; 400s that name the rule.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import { call, harnessWithClients, waitEnded } from "./fixture.js";

describe("POST /jobs/<id>/signal", () => {
  const world = harnessWithClients({ pool: { stopGraceMs: 300 } }, { before, after });

  async function startJob(script: string): Promise<string> {
    const put = await call(world.alice, `${world.h.server.url}/jobs`, "PUT", { cmd: "sh", args: ["-c", script] });
    assert.equal(put.status, 200, put.text);
    return put.json.id;
  }

  /** Follows the job's stdout until `text` has arrived. */
  async function outputUntil(id: string, text: string): Promise<void> {
    const res = await request(`${world.h.server.url}/jobs/${id}/stdout?follow=true`, { dispatcher: world.alice });
    let seen = "";
    for await (const chunk of res.body) {
      seen += chunk.toString();
      if (seen.includes(text)) break;
    }
    res.body.destroy();
    assert.ok(seen.includes(text), seen);
  }

  test("signals the owner's running job: a trap's answer, then SIGINT ends it as Ctrl-C would", async () => {
    const id = await startJob("trap 'echo got-hup' HUP; echo ready; while :; do sleep 0.05; done");
    // The trap is set once "ready" is out.
    await outputUntil(id, "ready\n");
    const hup = await call(world.alice, `${world.h.server.url}/jobs/${id}/signal`, "POST", { signal: "SIGHUP" });
    assert.equal(hup.status, 200, hup.text);
    // The shell runs a trap between commands, while SIGINT's default ends it at once: the
    // trap's answer must be out before the next signal, or it may never come.
    await outputUntil(id, "got-hup\n");
    const int = await call(world.alice, `${world.h.server.url}/jobs/${id}/signal`, "POST", { signal: "SIGINT" });
    assert.equal(int.status, 200, int.text);
    const ended = await waitEnded(world.alice, world.h.server.url, id);
    assert.equal(ended.status, "completed");
    assert.equal(ended.signal, "SIGINT");
    const output = await call(world.alice, `${world.h.server.url}/jobs/${id}/output`);
    assert.equal(output.json.stdout, "ready\ngot-hup\n");
  });

  test("another identity's job answers exactly as an unknown id, and is not signalled", async () => {
    const id = await startJob("sleep 30");
    const asBob = await call(world.bob, `${world.h.server.url}/jobs/${id}/signal`, "POST", { signal: "SIGKILL" });
    const unknown = await call(world.bob, `${world.h.server.url}/jobs/00000000-0000-4000-8000-000000000000/signal`, "POST", { signal: "SIGKILL" });
    assert.equal(asBob.status, 404);
    assert.deepEqual(asBob.json, unknown.json);
    const status = await call(world.alice, `${world.h.server.url}/jobs/${id}/status`);
    assert.equal(status.json.status, "running");
    await call(world.alice, `${world.h.server.url}/jobs/${id}/stop`, "POST");
  });

  test("an ended job is 409 JOB_NOT_RUNNING", async () => {
    const id = await startJob("true");
    await waitEnded(world.alice, world.h.server.url, id);
    const res = await call(world.alice, `${world.h.server.url}/jobs/${id}/signal`, "POST", { signal: "SIGTERM" });
    assert.equal(res.status, 409);
    assert.equal(res.json.code, "JOB_NOT_RUNNING");
  });

  test("bad bodies are 400s naming the field, and change nothing", async () => {
    const id = await startJob("sleep 30");
    const url = `${world.h.server.url}/jobs/${id}/signal`;
    const notASignal = await call(world.alice, url, "POST", { signal: "SIGFOO" });
    assert.equal(notASignal.status, 400);
    assert.equal(notASignal.json.code, "INVALID_ARGUMENT");
    assert.match(notASignal.json.error, /signal must be a signal's name/);
    for (const body of [{}, { signal: 15 }, { signal: "SIGTERM", grace: 1 }, { signal: "x".repeat(33) }]) {
      const res = await call(world.alice, url, "POST", body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.code, "INVALID_REQUEST", JSON.stringify(body));
      assert.match(res.json.error, /signal|grace/, JSON.stringify(body));
    }
    const status = await call(world.alice, `${world.h.server.url}/jobs/${id}/status`);
    assert.equal(status.json.status, "running");
    await call(world.alice, `${world.h.server.url}/jobs/${id}/stop`, "POST");
  });

  test("GET is 405 with Allow: POST", async () => {
    const id = await startJob("true");
    const res = await call(world.alice, `${world.h.server.url}/jobs/${id}/signal`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, "POST");
  });
});
