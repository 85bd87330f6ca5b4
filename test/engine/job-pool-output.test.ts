// Pools here run without isolation (isolation: false): these tests check host PIDs that jobs
// print, and files under the host's /tmp, which namespaces hide. test/engine/isolation.test.ts
// covers the same guarantees for isolated jobs.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InvalidArgumentError, JobPool } from "../../src/index.js";
import { openFdCount } from "../helpers/processes.js";
import { collect, readUntil } from "../helpers/streams.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("JobPool output", () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    // Jobs run as their identity's own uid on a root server: they read files put here.
    chmodSync(dir.path, 0o755);
    pool = await JobPool.open({ isolation: false, dataDir: join(dir.path, "data"), stopGraceMs: 500 });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("keeps 1 MiB of random binary output byte for byte", async () => {
    const bytes = randomBytes(1024 * 1024);
    const file = join(dir.path, "random.bin");
    writeFileSync(file, bytes);
    const id = pool.create({ cmd: "cat", args: [file] });
    const followed = collect(pool.stream(id, "stdout", { follow: true }));
    await pool.wait(id);
    assert.ok((await pool.output(id)).stdout.equals(bytes), "output() is identical");
    assert.ok((await followed).equals(bytes), "a follower from the start is identical");
    assert.ok((await collect(pool.stream(id, "stdout"))).equals(bytes), "a reader after the end is identical");
    assert.equal(pool.get(id).stdoutBytes, bytes.length);
  });

  it("gives 50 concurrent followers of a running job identical, complete output", async () => {
    // Output arrives in bursts, so followers are woken many times while the job runs.
    const id = pool.create({ cmd: "sh", args: ["-c", "for i in $(seq 1 40); do seq 1 2000; sleep 0.01; done"] });
    const followers = Array.from({ length: 50 }, () => collect(pool.stream(id, "stdout", { follow: true })));
    const outputs = await Promise.all(followers);
    const expected = (await pool.output(id)).stdout;
    assert.equal(pool.status(id).state, "completed");
    assert.ok(expected.length > 0);
    for (const output of outputs) assert.ok(output.equals(expected));
  });

  it("delivers live output before the job ends", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", "echo first; read never_comes < /dev/zero; sleep 1000"] });
    const seen = await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.includes("first\n"));
    assert.equal(seen.toString(), "first\n");
    assert.equal(pool.status(id).state, "running");
    await pool.stop(id);
  });

  it("a follower from before the job's first process made its output files gets all of it", async () => {
    // The launcher stopped: the job is recorded and running, and its files do not exist yet.
    const launcher = pool.launcherPid()!;
    process.kill(launcher, "SIGSTOP");
    let id: string;
    let followed: Promise<Buffer>;
    try {
      id = pool.create({ cmd: "sh", args: ["-c", "echo out; echo err >&2"] });
      assert.equal(pool.status(id).state, "running");
      followed = collect(pool.stream(id, "stdout", { follow: true }));
      assert.equal((await collect(pool.stream(id, "stderr"))).length, 0, "a reader that does not follow ends with nothing");
    } finally {
      process.kill(launcher, "SIGCONT");
    }
    assert.equal((await followed).toString(), "out\n");
    assert.equal((await pool.wait(id)).state, "completed");
    assert.equal((await pool.output(id)).stderr.toString(), "err\n");
  });

  it("following a finished job gives its whole output and ends", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", "echo done >&2"] });
    await pool.wait(id);
    assert.equal((await collect(pool.stream(id, "stderr", { follow: true }))).toString(), "done\n");
  });

  it("starts at any offset", async () => {
    const id = pool.create({ cmd: "printf", args: ["0123456789"] });
    await pool.wait(id);
    assert.equal((await collect(pool.stream(id, "stdout", { offset: 4 }))).toString(), "456789");
    assert.equal((await collect(pool.stream(id, "stdout", { offset: 100 }))).length, 0);
  });

  it("a follower that starts at an offset while the job runs sees the rest exactly once", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", "printf abc; sleep 0.2; printf def"] });
    await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.length >= 3);
    assert.equal((await collect(pool.stream(id, "stdout", { offset: 1, follow: true }))).toString(), "bcdef");
  });

  it("refuses a bad offset or stream name", () => {
    const id = pool.create({ cmd: "true" });
    assert.throws(() => pool.stream(id, "stdout", { offset: -1 }), InvalidArgumentError);
    assert.throws(() => pool.stream(id, "stdout", { offset: 1.5 }), InvalidArgumentError);
    assert.throws(() => pool.stream(id, "stdin" as never), InvalidArgumentError);
  });

  it("a job that failed to start has empty output, and followers end at once", async () => {
    const id = pool.create({ cmd: "jobworker-no-such-command" });
    assert.equal((await collect(pool.stream(id, "stdout", { follow: true }))).length, 0);
    const { stdout, stderr } = await pool.output(id);
    assert.equal(stdout.length + stderr.length, 0);
  });

  it("a reader that stops reading holds back neither the job nor other readers", async () => {
    const id = pool.create({ cmd: "head", args: ["-c", String(8 * 1024 * 1024), "/dev/zero"] });
    const stalled = pool.stream(id, "stdout", { follow: true });
    stalled.pause();
    const other = await collect(pool.stream(id, "stdout", { follow: true }));
    assert.equal(other.length, 8 * 1024 * 1024);
    assert.equal((await pool.wait(id)).exitCode, 0);
    stalled.destroy();
  });

  it("runs 1,000 jobs to the end without file-descriptor growth", async () => {
    const warm = pool.create({ cmd: "true" });
    await pool.wait(warm);
    const before = openFdCount();
    for (let batch = 0; batch < 20; batch++) {
      const ids = Array.from({ length: 50 }, (_, i) => pool.create({ cmd: "sh", args: ["-c", `echo ${i}`] }));
      await Promise.all(ids.map((id) => pool.wait(id)));
      // Readers too must release their descriptors.
      await collect(pool.stream(ids[0]!, "stdout", { follow: true }));
      await Promise.all(ids.map((id) => pool.delete(id)));
    }
    assert.ok(openFdCount() <= before + 2, `fds before ${before}, after ${openFdCount()}`);
  });
});
