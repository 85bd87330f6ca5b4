// The queue through the API: PUT /jobs past an identity's slots answers a queued job and
// its place, past the queue's bound 429; status, ?wait=, list ?status=queued, signal (409)
// and DELETE of a queued job; the queue length per identity in /metrics; usage in records.
// Real mTLS clients (undici) against a server on 127.0.0.1.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { call, harnessWithClients, waitEnded } from "./fixture.js";

describe("the queue, through the API", () => {
  const world = harnessWithClients({ admins: ["alice"], pool: { queue: { maxRunningPerOwner: 1, maxQueuedPerOwner: 2 } } }, { before, after });
  const base = () => world.h.server.url;

  /** A job of alice's that runs until its stdin ends. */
  async function held(): Promise<{ id: string; status?: string; queue_position?: number }> {
    const answer = await call(world.alice, `${base()}/jobs`, "PUT", { cmd: "cat", stdin: true });
    assert.equal(answer.status, 200, answer.text);
    return answer.json;
  }

  const release = (id: string) => call(world.alice, `${base()}/jobs/${id}/stdin`, "PUT", "", { "content-type": "application/octet-stream" });

  test("past the slots a job is queued and says where; past the bound, 429; then each starts in turn", async () => {
    const first = await held();
    assert.deepEqual(Object.keys(first), ["id"], "a job that runs at once answers its id only");
    const second = await held();
    const third = await held();
    assert.deepEqual([second.status, second.queue_position, third.status, third.queue_position], ["queued", 1, "queued", 2]);
    const refused = await call(world.alice, `${base()}/jobs`, "PUT", { cmd: "true" });
    assert.equal(refused.status, 429);
    assert.equal(refused.json.code, "TOO_MANY_RUNNING_JOBS");
    assert.match(refused.json.error, /at most 1 at once, with 2 more queued/);
    // Bob has his own slots: not held by alice's queue.
    const bobs = await call(world.bob, `${base()}/jobs`, "PUT", { cmd: "true" });
    assert.deepEqual(Object.keys(bobs.json), ["id"]);

    assert.deepEqual((await call(world.alice, `${base()}/jobs/${third.id}/status`)).json, { status: "queued", queue_position: 2 });
    const record = (await call(world.alice, `${base()}/jobs/${third.id}`)).json;
    assert.equal(record.status, "queued");
    assert.equal(record.started_at, undefined);
    assert.equal(record.usage, undefined);
    const listed = (await call(world.alice, `${base()}/jobs?status=queued`)).json.jobs.map((job: { id: string }) => job.id);
    assert.deepEqual(listed.sort(), [second.id, third.id].sort());

    const signal = await call(world.alice, `${base()}/jobs/${second.id}/signal`, "POST", { signal: "SIGTERM" });
    assert.equal(signal.status, 409);
    assert.equal(signal.json.code, "JOB_NOT_RUNNING");

    const metrics = (await call(world.alice, `${base()}/metrics`)).text;
    assert.match(metrics, /^jobworker_queued_jobs\{owner="alice"\} 2$/m);
    assert.match(metrics, /^jobworker_running_jobs\{owner="alice"\} 1$/m);
    assert.match(metrics, /^jobworker_jobs\{state="queued"\} 2$/m);

    // ?wait= on a queued job waits through its start to its end.
    const waited = call(world.alice, `${base()}/jobs/${second.id}/status?wait=60`);
    for (const { id } of [first, second, third]) assert.equal((await release(id)).status, 200);
    assert.deepEqual((await waited).json, { status: "completed", exit_code: 0 });
    for (const { id } of [first, second, third]) assert.deepEqual(await waitEnded(world.alice, base(), id), { status: "completed", exit_code: 0 });
    const ended = (await call(world.alice, `${base()}/jobs/${third.id}`)).json;
    assert.ok(Date.parse(ended.started_at) >= Date.parse(ended.created_at));
    for (const field of ["cpu_user_ms", "cpu_system_ms", "memory_peak_bytes", "io_read_bytes", "io_write_bytes"]) assert.ok(Number.isInteger(ended.usage[field]), field);
    assert.doesNotMatch((await call(world.alice, `${base()}/metrics`)).text, /^jobworker_queued_jobs\{/m);
  });

  test("DELETE of a queued job cancels it: it never runs, and is gone", async () => {
    const blocker = await held();
    const queued = await held();
    assert.equal((await call(world.alice, `${base()}/jobs/${queued.id}`, "DELETE")).status, 200);
    assert.equal((await call(world.alice, `${base()}/jobs/${queued.id}/status`)).status, 404);
    const stopped = await held();
    assert.equal((await call(world.alice, `${base()}/jobs/${stopped.id}/stop`, "POST")).status, 200);
    const status = (await call(world.alice, `${base()}/jobs/${stopped.id}/status`)).json;
    assert.deepEqual(status, { status: "error", error_code: "CANCELLED", error_msg: "cancelled while queued: it never ran" });
    await release(blocker.id);
    await waitEnded(world.alice, base(), blocker.id);
  });
});
