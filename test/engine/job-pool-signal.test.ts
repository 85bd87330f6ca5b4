// JobPool.signal: one signal, as kill(1) sends it, to a job's process group and to what
// left the group; no grace, no escalation. Real processes, through the pool as `serve`
// opens it (isolated and confined where the host allows: the init passes signals on).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InvalidArgumentError, JobNotFoundError, JobNotRunningError, JobPool } from "../../src/index.js";
import { readUntil } from "../helpers/streams.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("JobPool.signal", () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), stopGraceMs: 500 });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("delivers the signal to a trap, and the job runs on; SIGTERM then ends it, killed by SIGTERM", async () => {
    const id = await pool.start({ cmd: "sh", args: ["-c", "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.05; done"] });
    const follow = () => pool.stream(id, "stdout", { follow: true });
    await readUntil(follow(), (s) => s.toString().includes("ready\n"));
    await pool.signal(id, "SIGUSR1");
    const seen = await readUntil(follow(), (s) => s.toString().includes("got-usr1\n"));
    assert.match(seen.toString(), /got-usr1/);
    assert.equal(pool.status(id).state, "running", "one signal, no escalation");
    await pool.signal(id, "SIGTERM");
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 143, signal: "SIGTERM" });
  });

  it("reaches a process that left the job's process group (setsid), once", async () => {
    const detached = `trap 'echo detached-got-it; exit 0' USR1; echo detached-ready; while :; do sleep 0.05; done`;
    const script = `setsid sh -c "${detached}" & trap 'echo leader-got-it' USR1; echo ready; while :; do sleep 0.05; done`;
    const id = await pool.start({ cmd: "sh", args: ["-c", script] });
    const follow = () => pool.stream(id, "stdout", { follow: true });
    await readUntil(follow(), (s) => s.toString().includes("ready\n") && s.toString().includes("detached-ready\n"));
    await pool.signal(id, "SIGUSR1");
    const seen = (await readUntil(follow(), (s) => s.toString().includes("leader-got-it\n") && s.toString().includes("detached-got-it\n"))).toString();
    assert.equal(seen.split("leader-got-it").length - 1, 1, seen);
    await pool.stop(id);
  });

  it("a job still starting gets it once its process runs", async () => {
    const id = pool.create({ cmd: "sleep", args: ["30"] });
    await pool.signal(id, "SIGINT");
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 130, signal: "SIGINT" });
  });

  it("refuses an ended job, an unknown id and a name that is not a signal's, changing nothing", async () => {
    const ended = pool.create({ cmd: "true" });
    await pool.wait(ended);
    await assert.rejects(pool.signal(ended, "SIGTERM"), JobNotRunningError);
    await assert.rejects(pool.signal("00000000-0000-4000-8000-000000000000", "SIGTERM"), JobNotFoundError);
    const running = await pool.start({ cmd: "sleep", args: ["30"] });
    for (const bad of ["SIGFOO", "TERM", "9", "", "sigterm"]) await assert.rejects(pool.signal(running, bad as NodeJS.Signals), InvalidArgumentError, bad);
    assert.equal(pool.status(running).state, "running");
    await pool.stop(running);
  });
});
