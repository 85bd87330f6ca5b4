// What a job used (records' `usage`): from its cgroup where one counts it, read before the
// cgroup goes; else its leader's rusage, marked partial. Live while it runs, final and
// durable once it ended. Real jobs that burn CPU and hold 80 MiB; the cgroup files'
// formats (v1 and v2) read from fixtures, since this host binds its controllers to v1.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { JobPool, type PoolOptions } from "../../src/index.js";
import { readCgroupUsage } from "../../src/engine/cgroups/usage.js";
import type { Hierarchy } from "../../src/engine/cgroups/detect.js";
import { combineUsage } from "../../src/engine/job-usage.js";
import { readUntil } from "../helpers/streams.js";
import { tempDir } from "../helpers/temp-dir.js";

const asRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;
// 80 MiB touched at once (dd's buffer), then CPU burnt in the shell itself.
const HOG = "dd if=/dev/zero of=/dev/null bs=80M count=1 2>/dev/null; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done";

const dir = tempDir();
after(() => dir.remove());
let count = 0;

async function withPool<T>(options: Omit<PoolOptions, "dataDir">, body: (pool: JobPool, dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = join(dir.path, `data-${++count}`);
  const pool = await JobPool.open({ dataDir, stopGraceMs: 500, ...options });
  try {
    return await body(pool, dataDir);
  } finally {
    await pool.close();
  }
}

describe("a job's usage", () => {
  it("from its cgroups on a root server: the CPU it burnt and the 80 MiB it held, kept across a restart", { skip: !asRoot && "needs root (cgroups)" }, async () => {
    const dataDir = join(dir.path, `data-${++count}`);
    let pool = await JobPool.open({ dataDir, stopGraceMs: 500 });
    try {
      if (!pool.resourceControl().cgroups) return;
      const id = pool.create({ cmd: "sh", args: ["-c", HOG] });
      assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
      const { usage } = pool.get(id);
      assert.ok(usage, "a usage once it ended");
      assert.ok(usage.memoryPeakBytes >= 80 * MiB, `memory peak ${usage.memoryPeakBytes}`);
      assert.ok(usage.cpuUserMs + usage.cpuSystemMs >= 50, JSON.stringify(usage));
      for (const value of [usage.cpuUserMs, usage.cpuSystemMs, usage.memoryPeakBytes, usage.ioReadBytes, usage.ioWriteBytes]) assert.ok(Number.isSafeInteger(value) && value >= 0);
      await pool.close();
      pool = await JobPool.open({ dataDir, stopGraceMs: 500 });
      assert.deepEqual(pool.get(id).usage, usage, "durable");
    } finally {
      await pool.close();
    }
  });

  it("live while the job runs, then final", async () => {
    await withPool({ isolation: false }, async (pool) => {
      const id = pool.create({ cmd: "sh", args: ["-c", `${HOG}; echo held; cat >/dev/null`], stdin: true });
      await readUntil(pool.stream(id, "stdout", { follow: true }), (soFar) => soFar.toString().includes("held\n"));
      const live = pool.get(id).usage;
      assert.ok(live, "a usage while it runs");
      assert.ok(live.cpuUserMs + live.cpuSystemMs >= 50, JSON.stringify(live));
      assert.ok(live.memoryPeakBytes >= 80 * MiB, `memory peak ${live.memoryPeakBytes} so far`);
      assert.ok(pool.list().find((job) => job.id === id)?.usage, "the list shows it too");
      pool.openStdin(id).end();
      await pool.wait(id);
      const final = pool.get(id).usage!;
      assert.ok(final.cpuUserMs >= live.cpuUserMs && final.memoryPeakBytes >= 80 * MiB);
    });
  });

  it("without cgroups, from the leader's rusage, marked partial", async () => {
    await withPool({ isolation: false, cgroups: false }, async (pool) => {
      const id = pool.create({ cmd: "sh", args: ["-c", HOG] });
      await pool.wait(id);
      const usage = pool.get(id).usage!;
      assert.equal(usage.partial, true);
      assert.ok(usage.memoryPeakBytes >= 80 * MiB, `peak of its largest process ${usage.memoryPeakBytes}`);
      assert.ok(usage.cpuUserMs + usage.cpuSystemMs >= 50, JSON.stringify(usage));
    });
  });

  it("none for a job that never ran, nor while it waits in the queue", async () => {
    await withPool({ isolation: false, queue: { maxRunningPerOwner: 1 } }, async (pool) => {
      const missing = pool.create({ cmd: "no-such-command-here" });
      await pool.wait(missing);
      assert.equal(pool.get(missing).usage, undefined);
      const blocker = pool.create({ cmd: "cat", stdin: true });
      const queued = pool.create({ cmd: "true" });
      assert.equal(pool.get(queued).usage, undefined);
      await pool.stop(queued);
      assert.equal(pool.get(queued).usage, undefined);
      pool.openStdin(blocker).end();
      await pool.wait(blocker);
    });
  });
});

describe("cgroup usage files", () => {
  const v1 = (controllers: string[]): Hierarchy => ({ version: 1, controllers: new Set(controllers) }) as unknown as Hierarchy;
  const v2: Hierarchy = { version: 2, controllers: new Set(["memory", "io", "cpu"]) } as unknown as Hierarchy;
  function files(entries: Record<string, string>): string {
    const path = join(dir.path, `cg-${++count}`);
    mkdirSync(path);
    for (const [name, text] of Object.entries(entries)) writeFileSync(join(path, name), text);
    return path;
  }

  it("reads v2's cpu.stat, memory.peak and io.stat, every device summed", () => {
    const path = files({
      "cpu.stat": "usage_usec 1500000\nuser_usec 1200000\nsystem_usec 300000\nnr_periods 0\n",
      "memory.peak": "83886080\n",
      "io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=1000 wbytes=24 rios=1 wios=1 dbytes=0 dios=0\n",
    });
    const part = { hierarchy: v2, dir: path };
    assert.deepEqual(readCgroupUsage({ killer: part, memory: part, io: part }), { cpuUserMs: 1200, cpuSystemMs: 300, memoryPeakBytes: 83886080, ioReadBytes: 5096, ioWriteBytes: 8216 });
  });

  it("reads v1's cpuacct, memory.max_usage_in_bytes and blkio throttle counts", () => {
    const cpu = files({ "cpuacct.usage_user": "2500000000\n", "cpuacct.usage_sys": "125000000\n" });
    const memory = files({ "memory.max_usage_in_bytes": "1048576\n" });
    const io = files({ "blkio.throttle.io_service_bytes": "8:0 Read 512\n8:0 Write 1024\n8:0 Sync 0\n8:0 Total 1536\n8:16 Read 10\n8:16 Write 0\nTotal 1546\n" });
    const killer = { hierarchy: v1(["freezer"]), dir: files({}) };
    assert.deepEqual(readCgroupUsage({ killer, cpu: { hierarchy: v1(["cpu", "cpuacct"]), dir: cpu }, memory: { hierarchy: v1(["memory"]), dir: memory }, io: { hierarchy: v1(["blkio"]), dir: io } }), {
      cpuUserMs: 2500,
      cpuSystemMs: 125,
      memoryPeakBytes: 1048576,
      ioReadBytes: 522,
      ioWriteBytes: 1024,
    });
  });

  it("gives what it cannot read as absent, never as 0", () => {
    const killer = { hierarchy: v1(["freezer"]), dir: files({}) };
    assert.deepEqual(readCgroupUsage({ killer, memory: { hierarchy: v2, dir: files({}) } }), {});
  });

  it("fills what no cgroup counted from the leader, and says partial unless the leader waited for all of it", () => {
    const leader = { cpuUserMs: 10, cpuSystemMs: 2, memoryPeakBytes: 100, ioReadBytes: 512, ioWriteBytes: 0 };
    const all = { cpuUserMs: 20, cpuSystemMs: 3, memoryPeakBytes: 200, ioReadBytes: 0, ioWriteBytes: 4096 };
    assert.deepEqual(combineUsage(all, leader, false), all);
    assert.deepEqual(combineUsage({ cpuUserMs: 20, cpuSystemMs: 3, memoryPeakBytes: 200 }, leader, true), { ...all, ioReadBytes: 512, ioWriteBytes: 0 });
    assert.deepEqual(combineUsage({ cpuUserMs: 20, cpuSystemMs: 3, memoryPeakBytes: 200 }, leader, false), { ...all, ioReadBytes: 512, ioWriteBytes: 0, partial: true });
    assert.deepEqual(combineUsage({}, leader, true), { ...leader, partial: true });
    assert.equal(combineUsage({ memoryPeakBytes: 1 }, undefined, true), undefined);
  });
});
