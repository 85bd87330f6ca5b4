import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { JobPool, type JobRecord } from "../../src/index.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("JobPool observers and counts (what the server's metrics read)", () => {
  const dir = tempDir();
  let pool: JobPool;
  const recorded: JobRecord[] = [];
  const ended: JobRecord[] = [];
  let unobserve: () => void;
  before(async () => {
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), stopGraceMs: 1000, isolation: false });
    unobserve = pool.observe({ recorded: (r) => recorded.push(r), ended: (r) => ended.push(r) });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("tells of a job when it is recorded running, and once more with its final record when it ends", async () => {
    const id = await pool.start({ cmd: "sh", args: ["-c", "printf 12345; printf ab >&2"], owner: "alice" });
    assert.deepEqual(recorded.filter((r) => r.id === id).map((r) => [r.state, r.owner]), [["running", "alice"]]);
    await pool.wait(id);
    const ends = ended.filter((r) => r.id === id);
    assert.equal(ends.length, 1);
    assert.equal(ends[0]!.state, "completed");
    assert.equal(ends[0]!.exitCode, 0);
    assert.equal(ends[0]!.stdoutBytes, 5);
    assert.equal(ends[0]!.stderrBytes, 2);
  });

  it("tells of a failed start once, in state error, with no end to follow", async () => {
    const id = pool.create({ cmd: "jobworker-no-such-command", owner: "bob" });
    assert.deepEqual(recorded.filter((r) => r.id === id).map((r) => [r.state, r.errorCode]), [["error", "COMMAND_NOT_FOUND"]]);
    assert.equal(ended.filter((r) => r.id === id).length, 0);
  });

  it("is not broken by an observer that throws", async () => {
    const stop = pool.observe({
      recorded: () => {
        throw new Error("observer bug");
      },
      ended: () => {
        throw new Error("observer bug");
      },
    });
    const id = pool.create({ cmd: "true" });
    assert.equal((await pool.wait(id)).state, "completed");
    stop();
  });

  it("counts records per state as jobs start, end and are deleted", async () => {
    const before = pool.countByState();
    const id = await pool.start({ cmd: "sleep", args: ["30"] });
    assert.deepEqual(pool.countByState(), { ...before, running: before.running + 1 });
    await pool.stop(id);
    assert.deepEqual(pool.countByState(), { ...before, completed: before.completed + 1 });
    const failed = pool.create({ cmd: "jobworker-no-such-command" });
    assert.deepEqual(pool.countByState(), { ...before, completed: before.completed + 1, error: before.error + 1 });
    await pool.delete(id);
    await pool.delete(failed);
    assert.deepEqual(pool.countByState(), before);
  });

  it("counts the records a reopened pool finds", async () => {
    const counts = pool.countByState();
    await pool.close();
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), isolation: false });
    assert.deepEqual(pool.countByState(), counts);
    assert.ok(counts.completed >= 2 && counts.error >= 1, JSON.stringify(counts));
  });

  it("sums the output of running jobs, and stops telling an observer that left", async () => {
    unobserve();
    const seen = recorded.length;
    const id = await pool.start({ cmd: "sh", args: ["-c", "printf 1234567; exec sleep 30"] });
    const deadline = Date.now() + 10_000;
    while (pool.runningOutputBytes().stdout < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(pool.runningOutputBytes(), { stdout: 7, stderr: 0 });
    await pool.stop(id);
    assert.deepEqual(pool.runningOutputBytes(), { stdout: 0, stderr: 0 });
    assert.equal(recorded.length, seen);
  });

  it("says whether the data disk is full", () => {
    assert.equal(pool.diskFull(), false);
  });
});
