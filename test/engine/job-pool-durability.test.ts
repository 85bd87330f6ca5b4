// Pools here run without isolation (isolation: false): these tests check host PIDs that jobs
// print, and files under the host's /tmp, which namespaces hide. test/engine/isolation.test.ts
// covers the same guarantees for isolated jobs.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { INTERRUPTED_MESSAGE, JobPool, StorageFullError } from "../../src/index.js";
import { JobStore, type StoredJob } from "../../src/engine/job-store.js";
import { until } from "../../src/engine/back-off.js";
import { cmdlineOf, isAlive, processesWhere } from "../helpers/processes.js";
import { collect, readUntil } from "../helpers/streams.js";
import { tempDir } from "../helpers/temp-dir.js";

const dir = tempDir();
after(() => dir.remove());
let counter = 0;
const freshDataDir = () => join(dir.path, `data-${++counter}`);

function storedJob(overrides: Partial<StoredJob> = {}): StoredJob {
  return {
    id: randomUUID(),
    owner: "seed",
    cmd: "true",
    args: [],
    cwd: "/",
    envNames: [],
    createdAt: Date.now(),
    endedAt: Date.now(),
    state: "completed",
    exitCode: 0,
    stdoutBytes: 0,
    stderrBytes: 0,
    ...overrides,
  };
}

describe("durability", () => {
  it("keeps every job, its id and its output across a graceful restart", async () => {
    const dataDir = freshDataDir();
    const first = await JobPool.open({ isolation: false, dataDir, stopGraceMs: 200 });
    const done = first.create({ cmd: "sh", args: ["-c", "echo kept; echo err >&2; exit 4"], owner: "alice" });
    await first.wait(done);
    const running = first.create({ cmd: "sh", args: ["-c", "echo before; exec sleep 1000"], owner: "alice" });
    await readUntil(first.stream(running, "stdout", { follow: true }), (s) => s.includes("before"));
    const recordBefore = first.get(done);
    await first.close();

    const second = await JobPool.open({ isolation: false, dataDir });
    try {
      assert.deepEqual(second.get(done), recordBefore);
      const { stdout, stderr } = await second.output(done);
      assert.equal(stdout.toString(), "kept\n");
      assert.equal(stderr.toString(), "err\n");
      assert.deepEqual(second.status(running), { state: "error", errorMsg: "stopped: the worker shut down while the job was running", errorCode: "SHUTDOWN" });
      assert.equal((await collect(second.stream(running, "stdout", { follow: true }))).toString(), "before\n");
      assert.deepEqual(second.list({ owner: "alice" }).map((job) => job.id), [running, done]);
    } finally {
      await second.close();
    }
  });

  it("keeps records and output owner-only, even in a data directory open to all", async () => {
    const dataDir = freshDataDir();
    mkdirSync(join(dataDir, "jobs"), { recursive: true, mode: 0o755 });
    chmodSync(join(dataDir, "jobs"), 0o755);
    const pool = await JobPool.open({ isolation: false, dataDir });
    try {
      const id = pool.create({ cmd: "echo", args: ["secret"] });
      await pool.wait(id);
      await pool.persisted();
      const mode = (path: string) => statSync(join(dataDir, path)).mode & 0o777;
      assert.equal(mode("jobs"), 0o700);
      for (const file of ["jobs.db", "jobs.db-wal", "jobs.db-shm"]) assert.equal(mode(file), 0o600, file);
      assert.equal(mode(`jobs/${id}.stdout`), 0o600);
    } finally {
      await pool.close();
    }
  });

  it("makes acknowledged ids durable with fsyncs shared by concurrent callers", async () => {
    const pool = await JobPool.open({ isolation: false, dataDir: freshDataDir() });
    try {
      const store = (pool as unknown as { parts: { store: JobStore } }).parts.store;
      const before = store.syncCount;
      const ids = Array.from({ length: 20 }, () => pool.create({ cmd: "true" }));
      await Promise.all(ids.map(() => pool.persisted()));
      const used = store.syncCount - before;
      // One fsync may have started before the last commit; one more after it covers all.
      assert.ok(used >= 1 && used <= 2, `${used} fsyncs for 20 acknowledgements`);
      await Promise.all(ids.map((id) => pool.wait(id)));
    } finally {
      await pool.close();
    }
  });

  it("after kill -9 of the server, the launcher kills its jobs at once; the restart keeps their partial output", async () => {
    const dataDir = freshDataDir();
    const worker = spawn(process.execPath, ["--import", "tsx", "test/fixtures/crash-worker.ts", dataDir], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await readUntil(worker.stdout, (s) => s.includes("\n"));
    const { id, pid, grandchild } = JSON.parse(line.toString()) as { id: string; pid: number; grandchild: number };
    worker.kill("SIGKILL");
    await new Promise((resolve) => worker.once("exit", resolve));
    // No event tells us when a stranger's process is gone: poll, bounded.
    const gone = await until(() => !isAlive(pid) && !isAlive(grandchild), 10_000);
    assert.ok(gone, "the launcher killed the job and its grandchild when the server died");

    const pool = await JobPool.open({ isolation: false, dataDir });
    try {
      assert.deepEqual(pool.status(id), { state: "error", errorMsg: INTERRUPTED_MESSAGE, errorCode: "INTERRUPTED" });
      assert.equal((await pool.output(id)).stdout.toString(), `partial\n${grandchild}\n`);
    } finally {
      await pool.close();
    }
  });

  it("after kill -9 of a server whose launcher could not act (stopped), the restart kills the job's processes and keeps its partial output", async () => {
    const dataDir = freshDataDir();
    const worker = spawn(process.execPath, ["--import", "tsx", "test/fixtures/crash-worker.ts", dataDir], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await readUntil(worker.stdout, (s) => s.includes("\n"));
    const { id, pid, grandchild, launcher } = JSON.parse(line.toString()) as { id: string; pid: number; grandchild: number; launcher: number };
    // A stopped launcher cannot take the SIGTERM of its engine's death: the job runs on.
    process.kill(launcher, "SIGSTOP");
    try {
      worker.kill("SIGKILL");
      await new Promise((resolve) => worker.once("exit", resolve));
      assert.ok(isAlive(pid) && isAlive(grandchild), "the job outlives its server");
      const pool = await JobPool.open({ isolation: false, dataDir });
      try {
        assert.ok(await until(() => !isAlive(pid) && !isAlive(grandchild), 10_000), "main process and grandchild killed at restart");
        assert.deepEqual(pool.status(id), { state: "error", errorMsg: INTERRUPTED_MESSAGE, errorCode: "INTERRUPTED" });
        assert.equal((await pool.output(id)).stdout.toString(), `partial\n${grandchild}\n`);
        assert.ok(pool.get(id).endedAt !== undefined);
      } finally {
        await pool.close();
      }
    } finally {
      process.kill(launcher, "SIGKILL");
    }
  });

  it("after kill -9 of the server, the launcher kills every process of an isolated job, even one that left its group", { skip: process.getuid?.() !== 0 && "needs root (namespaces)" }, async () => {
    const dataDir = freshDataDir();
    // A duration of its own: a process left by another run is never taken for this one's.
    const seconds = `4244.${process.pid}`;
    const worker = spawn(process.execPath, ["--import", "tsx", "test/fixtures/crash-worker.ts", dataDir, "isolated"], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, JOBWORKER_TEST_ESCAPEE: seconds },
    });
    const line = await readUntil(worker.stdout, (s) => s.includes("\n"));
    const { id } = JSON.parse(line.toString()) as { id: string };
    // The printed PIDs are the namespace's own: the host sees the escapee by its command line.
    const escapee = (): boolean => processesWhere((pid) => cmdlineOf(pid) === `sleep\u0000${seconds}\u0000` && isAlive(pid)).length > 0;
    // Its PID is printed when forked: it may still be `setsid` for a moment.
    assert.ok(await until(escapee, 10_000), "the escapee runs");
    worker.kill("SIGKILL");
    await new Promise((resolve) => worker.once("exit", resolve));
    assert.ok(await until(() => !escapee(), 10_000), "the escaped grandchild died with the launcher");
    const pool = await JobPool.open({ dataDir });
    try {
      assert.deepEqual(pool.status(id), { state: "error", errorMsg: INTERRUPTED_MESSAGE, errorCode: "INTERRUPTED" });
      assert.match((await pool.output(id)).stdout.toString(), /^partial\n/);
    } finally {
      await pool.close();
    }
  });

  it("does not kill a process that reused a recorded PID", async () => {
    const dataDir = freshDataDir();
    mkdirSync(dataDir, { recursive: true });
    // A live process, not ours, whose PID a stale record names with another start time.
    const bystander = spawn("sleep", ["1000"], { detached: true, stdio: "ignore" });
    const store = new JobStore(dataDir);
    const { bootId } = await import("../../src/engine/process-identity.js");
    const stale = storedJob({ state: "running", exitCode: undefined, endedAt: undefined, pid: bystander.pid, pidStart: "1", bootId: bootId() });
    store.insert(stale);
    await store.close();

    const pool = await JobPool.open({ isolation: false, dataDir });
    try {
      assert.equal(isAlive(bystander.pid!), true, "the process with the reused PID lives");
      assert.deepEqual(pool.status(stale.id), { state: "error", errorMsg: INTERRUPTED_MESSAGE, errorCode: "INTERRUPTED" });
    } finally {
      bystander.kill("SIGKILL");
      await pool.close();
    }
  });

  it("a follower of a job stopped at the cap sees its stream end only once the job has ended", async () => {
    // The cap is reached before the job is stopped: the stream has nothing more to give
    // then, but its end tells a follower that the job is over (docs/api.md, "follow").
    const pool = await JobPool.open({ isolation: false, dataDir: freshDataDir(), maxOutputBytes: 10_000 });
    try {
      for (let round = 0; round < 5; round++) {
        const id = pool.create({ cmd: "sh", args: ["-c", "while :; do head -c 4096 /dev/zero; done"] });
        assert.equal((await collect(pool.stream(id, "stdout", { follow: true }))).length, 10_000);
        assert.notEqual(pool.status(id).state, "running", `round ${round}: the job had ended when its stream did`);
      }
    } finally {
      await pool.close();
    }
  });

  it("stops a job at the output cap, keeps exactly the cap, and marks it truncated", async () => {
    const pool = await JobPool.open({ isolation: false, dataDir: freshDataDir(), maxOutputBytes: 10_000 });
    try {
      const id = pool.create({ cmd: "sh", args: ["-c", "while :; do head -c 4096 /dev/zero; done"] });
      const followed = collect(pool.stream(id, "stdout", { follow: true }));
      const status = await pool.wait(id);
      assert.equal(status.state, "error");
      assert.match(status.errorMsg!, /output limit reached/);
      assert.equal(status.errorCode, "OUTPUT_LIMIT");
      assert.equal(pool.get(id).truncated, true);
      assert.equal(pool.get(id).stdoutBytes, 10_000);
      assert.equal((await pool.output(id)).stdout.length, 10_000);
      assert.equal((await followed).length, 10_000);
      assert.equal((await collect(pool.stream(id, "stdout"))).length, 10_000);
    } finally {
      await pool.close();
    }
  });

  it("a job under the cap is untouched", async () => {
    const pool = await JobPool.open({ isolation: false, dataDir: freshDataDir(), maxOutputBytes: 10_000 });
    try {
      const id = pool.create({ cmd: "head", args: ["-c", "10000", "/dev/zero"] });
      assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
      assert.equal(pool.get(id).truncated, undefined);
    } finally {
      await pool.close();
    }
  });

  it("survives a full disk: output marked truncated, new jobs refused, service back when space returns", async (t) => {
    const mountPoint = join(dir.path, "small-disk");
    mkdirSync(mountPoint);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint]);
    if (mounted.status !== 0) {
      t.skip(`cannot mount a tmpfs here (needs root): ${mounted.stderr.toString().trim()}`);
      return;
    }
    try {
      const pool = await JobPool.open({ isolation: false, dataDir: join(mountPoint, "data") });
      try {
        const filler = pool.create({ cmd: "head", args: ["-c", String(64 * 1024 * 1024), "/dev/zero"] });
        const status = await pool.wait(filler);
        assert.equal(status.state, "completed");
        assert.notEqual(status.exitCode, 0, "the job itself saw ENOSPC");
        assert.equal(pool.get(filler).truncated, true);
        assert.throws(() => pool.create({ cmd: "true" }), StorageFullError);
        // Reads still work while the disk is full.
        assert.equal(pool.status(filler).state, "completed");
        await pool.delete(filler);
        const id = pool.create({ cmd: "echo", args: ["back"] });
        await pool.wait(id);
        assert.equal((await pool.output(id)).stdout.toString(), "back\n");
      } finally {
        await pool.close();
      }
    } finally {
      spawnSync("umount", [mountPoint]);
    }
  });

  it("retention removes the oldest finished jobs beyond the count, and old ones by age", async () => {
    const dataDir = freshDataDir();
    const pool = await JobPool.open({ isolation: false, dataDir, retain: { maxCount: 3 } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        ids.push(pool.create({ cmd: "echo", args: [String(i)] }));
        await pool.wait(ids[i]!);
      }
      const running = pool.create({ cmd: "sleep", args: ["1000"] });
      await pool.applyRetention();
      assert.deepEqual(pool.list().map((job) => job.id), [running, ids[5], ids[4], ids[3]]);
      await pool.stop(running);
    } finally {
      await pool.close();
    }
    const byAge = await JobPool.open({ isolation: false, dataDir: freshDataDir(), retain: { maxAgeMs: 60_000 } });
    try {
      const old = byAge.create({ cmd: "true" });
      await byAge.wait(old);
      const store = (byAge as unknown as { parts: { store: JobStore } }).parts.store;
      store.finish({ ...byAge.get(old), endedAt: Date.now() - 120_000 });
      const recent = byAge.create({ cmd: "true" });
      await byAge.wait(recent);
      await byAge.applyRetention();
      assert.deepEqual(byAge.list().map((job) => job.id), [recent]);
    } finally {
      await byAge.close();
    }
  });

  it("pages through 10,000 jobs newest first with no duplicates or gaps, while jobs are added", async () => {
    const dataDir = freshDataDir();
    mkdirSync(dataDir, { recursive: true });
    const store = new JobStore(dataDir);
    const seeded = Array.from({ length: 10_000 }, (_, i) => storedJob({ owner: i % 2 === 0 ? "even" : "odd", createdAt: i }));
    store.insertMany(seeded);
    await store.close();
    const pool = await JobPool.open({ isolation: false, dataDir });
    try {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = pool.listPage({ limit: 137, cursor });
        seen.push(...page.jobs.map((job) => job.id));
        cursor = page.nextCursor;
        // New jobs arrive at the front and must not shift the pages being read.
        if (pages++ === 3) await pool.wait(pool.create({ cmd: "true" }));
      } while (cursor);
      assert.equal(new Set(seen).size, seen.length, "no duplicates");
      assert.deepEqual(seen, seeded.map((job) => job.id).reverse(), "every job, newest first");
      const odd = pool.listPage({ owner: "odd", limit: 1000 });
      assert.equal(odd.jobs.length, 1000);
      assert.ok(odd.jobs.every((job) => job.owner === "odd"));
      assert.throws(() => pool.listPage({ limit: 0 }), { code: "INVALID_ARGUMENT" });
      assert.throws(() => pool.listPage({ cursor: "abc" }), { code: "INVALID_ARGUMENT" });
    } finally {
      await pool.close();
    }
  });
});
