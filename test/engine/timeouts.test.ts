// Job timeouts (issue 13): stopped exactly as `stop` does when the time is up, marked
// timed out, bounded by the pool's maximum, and a deadline that passed while no server
// ran is recorded at the next start.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { INTERRUPTED_MESSAGE, JobPool, TimeoutAboveMaximumError } from "../../src/index.js";
import type { JobStatus } from "../../src/engine/types.js";
import { JobStore } from "../../src/engine/job-store.js";
import { chunksOf } from "../helpers/streams.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("job timeouts", () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), stopGraceMs: 300, timeouts: { maxMs: 60_000 } });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  /**
   * Runs a shell script that prints "ready" once its trap is set, with a timeout that
   * grows until "ready" was captured before the deadline: then the trap was set before
   * the signal came (a capture follows its write), however slow the start was.
   */
  async function trappedJob(script: string, timeoutMs: number): Promise<{ id: string; status: JobStatus }> {
    for (let ms = timeoutMs; ; ms *= 4) {
      const id = pool.create({ cmd: "sh", args: ["-c", script], timeoutMs: ms });
      const status = await pool.wait(id);
      const ready = (await chunksOf(pool.log(id))).find((c) => c.data.toString().startsWith("ready"));
      if (ready && ready.time < pool.get(id).deadlineAt!) return { id, status };
      assert.ok(ms * 4 <= 60_000, `the trap was never set before a deadline, up to ${ms} ms`);
    }
  }

  it("at the deadline, a job that traps SIGTERM runs its handler and ends with its own code, marked timed out", async () => {
    const { id, status } = await trappedJob('trap "echo bye; exit 7" TERM; echo ready; sleep 100 & wait', 300);
    assert.deepEqual(status, { state: "completed", exitCode: 7, timedOut: true });
    assert.equal((await pool.output(id)).stdout.toString(), "ready\nbye\n");
    assert.equal(pool.get(id).timedOut, true);
  });

  it("a job that ignores SIGTERM is killed after the grace period", async () => {
    const { status } = await trappedJob('trap "" TERM; echo ready; sleep 100 & wait', 200);
    assert.deepEqual(status, { state: "completed", exitCode: 137, signal: "SIGKILL", timedOut: true });
  });

  it("a job that ends in time is not marked", async () => {
    const id = pool.create({ cmd: "true", timeoutMs: 60_000 });
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
  });

  it("a timeout above the maximum is refused, and creates nothing", () => {
    const before = pool.list().length;
    assert.throws(() => pool.create({ cmd: "true", timeoutMs: 60_001 }), (err: unknown) => err instanceof TimeoutAboveMaximumError && err.code === "TIMEOUT_ABOVE_MAXIMUM");
    assert.equal(pool.list().length, before);
  });

  it("a job that asks for none gets the default, else the maximum", async () => {
    const other = tempDir();
    // A long grace: a SIGTERM sent while the start is still being set up waits for the
    // command's exec, and only SIGTERM is expected.
    const byDefault = await JobPool.open({ dataDir: join(other.path, "a"), stopGraceMs: 30_000, timeouts: { defaultMs: 200, maxMs: 60_000 } });
    const byMaximum = await JobPool.open({ dataDir: join(other.path, "b"), stopGraceMs: 30_000, timeouts: { maxMs: 200 } });
    try {
      for (const p of [byDefault, byMaximum]) {
        const id = p.create({ cmd: "sleep", args: ["100"] });
        assert.deepEqual(await p.wait(id), { state: "completed", exitCode: 143, signal: "SIGTERM", timedOut: true });
      }
    } finally {
      await Promise.all([byDefault.close(), byMaximum.close()]);
      other.remove();
    }
  });

  it("refuses a default above the maximum, and a timeout that is not a positive integer", async () => {
    await assert.rejects(JobPool.open({ dataDir: join(dir.path, "bad"), timeouts: { defaultMs: 2, maxMs: 1 } }), /default timeout/);
    assert.throws(() => pool.create({ cmd: "true", timeoutMs: 0 }), /timeoutMs must be an integer/);
    assert.throws(() => pool.create({ cmd: "true", timeoutMs: 1.5 }), /timeoutMs must be an integer/);
  });
});

describe("a deadline that passed while the server was down", () => {
  const dir = tempDir();
  after(dir.remove);

  it("is recorded at the next start: interrupted, and timed out", async () => {
    const dataDir = join(dir.path, "data");
    const first = await JobPool.open({ dataDir, isolation: false });
    await first.close();
    // What a crashed server leaves: records still "running", one past its deadline.
    const store = new JobStore(dataDir);
    const base = { owner: "alice", cmd: "sleep", args: ["100"], cwd: "/", envNames: [], state: "running" as const, stdoutBytes: 0, stderrBytes: 0 };
    store.insert({ ...base, id: "00000000-0000-4000-8000-000000000001", createdAt: Date.now() - 10_000, deadlineAt: Date.now() - 5_000 });
    store.insert({ ...base, id: "00000000-0000-4000-8000-000000000002", createdAt: Date.now() - 10_000, deadlineAt: Date.now() + 3_600_000 });
    await store.close();
    const pool = await JobPool.open({ dataDir, isolation: false });
    try {
      assert.deepEqual(pool.status("00000000-0000-4000-8000-000000000001"), { state: "error", errorMsg: INTERRUPTED_MESSAGE, errorCode: "INTERRUPTED", timedOut: true });
      assert.deepEqual(pool.status("00000000-0000-4000-8000-000000000002"), { state: "error", errorMsg: INTERRUPTED_MESSAGE, errorCode: "INTERRUPTED" });
    } finally {
      await pool.close();
    }
  });
});
