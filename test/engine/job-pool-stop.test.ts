// Pools here run without isolation (isolation: false): these tests check host PIDs that jobs
// print, and files under the host's /tmp, which namespaces hide. test/engine/isolation.test.ts
// covers the same guarantees for isolated jobs.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { JobNotFoundError, JobPool } from "../../src/index.js";
import { isAlive } from "../helpers/processes.js";
import { collect, readUntil } from "../helpers/streams.js";
import { tempDir } from "../helpers/temp-dir.js";

/** Reads the PIDs a job prints, one per line, once it has printed `count` of them. */
async function pidsPrinted(pool: JobPool, id: string, count: number): Promise<number[]> {
  const out = await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.toString().split("\n").length > count);
  return out.toString().trim().split("\n").map(Number);
}

describe("JobPool stop and delete", () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({ isolation: false, dataDir: join(dir.path, "data"), stopGraceMs: 300 });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("stops a running job with SIGTERM and keeps its record and output", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", "echo started; exec sleep 1000"] });
    await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.includes("started\n"));
    await pool.stop(id);
    assert.deepEqual(pool.status(id), { state: "completed", exitCode: 143, signal: "SIGTERM" });
    assert.equal((await pool.output(id)).stdout.toString(), "started\n");
  });

  it("kills a job that ignores SIGTERM once the grace period is over", async () => {
    // The handler makes node ignore SIGTERM; "ready" says it is installed.
    const id = pool.create({ cmd: process.execPath, args: ["-e", "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)"] });
    await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.includes("ready"));
    await pool.stop(id);
    assert.deepEqual(pool.status(id), { state: "completed", exitCode: 137, signal: "SIGKILL" });
  });

  it("terminates every process of the tree, grandchildren included", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", "sleep 1000 & echo $!; sleep 1000 & echo $!; echo $$; wait"] });
    const pids = await pidsPrinted(pool, id, 3);
    assert.ok(pids.every(isAlive), "the job's processes run before stop");
    await pool.stop(id);
    for (const pid of pids) assert.equal(isAlive(pid), false, `process ${pid} is gone after stop`);
  });

  it("kills what the main process leaves behind when it exits on its own", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", "sleep 1000 & echo $!"] });
    const [straggler] = await pidsPrinted(pool, id, 1);
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
    assert.equal(isAlive(straggler!), false);
  });

  it("stopping a finished job changes nothing", async () => {
    const id = pool.create({ cmd: "true" });
    await pool.wait(id);
    await pool.stop(id);
    assert.deepEqual(pool.status(id), { state: "completed", exitCode: 0 });
  });

  it("concurrent stops share one termination", async () => {
    // Started first: a SIGTERM sent before the command's exec waits for it, and a slow
    // start could outlast the grace (then SIGKILL, which is not what this is about).
    const id = await pool.start({ cmd: "sleep", args: ["1000"] });
    await Promise.all([pool.stop(id), pool.stop(id), pool.stop(id)]);
    assert.equal(pool.status(id).signal, "SIGTERM");
  });

  it("delete stops a running job, then removes record and output", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", "echo $$; exec sleep 1000"] });
    const [pid] = await pidsPrinted(pool, id, 1);
    const outputFiles = ["stdout", "stderr"].map((name) => join(dir.path, "data", "jobs", `${id}.${name}`));
    assert.ok(outputFiles.every((file) => existsSync(file)));
    await pool.delete(id);
    assert.equal(isAlive(pid!), false);
    assert.throws(() => pool.status(id), JobNotFoundError);
    assert.ok(!pool.list().some((job) => job.id === id));
    assert.ok(!outputFiles.some((file) => existsSync(file)), "output files are removed");
  });

  it("two concurrent deletes both resolve once the job is gone; a later one fails", async () => {
    const id = pool.create({ cmd: "sleep", args: ["1000"] });
    await Promise.all([pool.delete(id), pool.delete(id)]);
    await assert.rejects(pool.delete(id), JobNotFoundError);
  });

  it("stop during delete resolves, and the job is then gone", async () => {
    const id = pool.create({ cmd: "sleep", args: ["1000"] });
    const deleting = pool.delete(id);
    // Once delete started, the job is gone for everyone else.
    await assert.rejects(pool.stop(id), JobNotFoundError);
    await deleting;
  });

  it("a follower reading during delete gets an error instead of hanging", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", "echo first; exec sleep 1000"] });
    const follower = pool.stream(id, "stdout", { follow: true });
    const reading = assert.rejects(collect(follower), JobNotFoundError);
    await pool.delete(id);
    await reading;
  });

  it("close stops every running job and refuses new ones", async () => {
    const own = await JobPool.open({ isolation: false, dataDir: join(dir.path, "closing"), stopGraceMs: 300 });
    const ids = [own.create({ cmd: "sleep", args: ["1000"] }), own.create({ cmd: "sleep", args: ["1000"] })];
    const pids = ids.map((id) => own.get(id).pid!);
    const finals = ids.map((id) => own.wait(id));
    await own.close();
    for (const status of await Promise.all(finals)) {
      assert.deepEqual(status, { state: "error", errorMsg: "stopped: the worker shut down while the job was running", errorCode: "SHUTDOWN" });
    }
    for (const pid of pids) assert.equal(isAlive(pid), false);
    assert.throws(() => own.create({ cmd: "true" }), { code: "POOL_CLOSED" });
    assert.throws(() => own.status(ids[0]!), { code: "POOL_CLOSED" });
  });
});
