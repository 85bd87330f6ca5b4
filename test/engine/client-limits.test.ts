// Limits over all of one identity's jobs together (serve --client-max-*): a cgroup per
// identity above its jobs'. Alice's fork bomb is held by hers while Bob's jobs run.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { JobPool } from "../../src/index.js";
import { tempDir } from "../helpers/temp-dir.js";

const asRoot = process.getuid?.() === 0;

describe("limits over each identity's jobs together", { skip: !asRoot && "needs root (cgroups, a uid per identity)" }, () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), clientLimits: { pids: 40 }, stopGraceMs: 500 });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  /** The identity's group directory in the pids hierarchy, found from a job's uid. */
  function groupDir(uid: number): string | undefined {
    return pool.resourceControl().parentDirs.map((d) => join(d, `client-${uid}`)).find((d) => existsSync(join(d, "pids.max")));
  }

  it("are sized to the host where not given, and said", () => {
    const { perClient } = pool.limitPolicy();
    assert.equal(perClient.pids, 40);
    if (pool.resourceControl().enforced.memoryBytes) assert.ok(perClient.memoryBytes! > 0);
  });

  it("hold alice's fork bomb across her jobs, while bob's jobs start and finish and the pool answers", async () => {
    // Each job tries 60 sleepers: 120 in all, against 40 for alice's jobs together.
    const bomb = "i=0; while [ $i -lt 60 ]; do sleep 60 & i=$((i+1)); done; wait";
    const alice = [await pool.start({ cmd: "sh", args: ["-c", bomb], owner: "alice" }), await pool.start({ cmd: "sh", args: ["-c", bomb], owner: "alice" })];
    const uid = pool.get(alice[0]!).isolation!.uid!;
    const group = groupDir(uid);
    assert.ok(group, "alice has a group cgroup");
    assert.equal(readFileSync(join(group, "pids.max"), "utf8").trim(), "40");
    // Bob's job runs while alice's are at their limit: his own are not counted in hers. He has
    // 40 too, so his 20 short-lived forks stay under his own limit however slowly they end.
    const bob = pool.create({ cmd: "sh", args: ["-c", "i=0; while [ $i -lt 20 ]; do true & i=$((i+1)); done; wait; echo bob ok"], owner: "bob" });
    // The shell gives up when the kernel refuses it a fork (exit 2): the group never held
    // more than its limit, across both jobs (120 sleepers asked for).
    const ends = await Promise.all(alice.map((id) => pool.wait(id)));
    assert.ok(ends.some((end) => end.exitCode !== 0), JSON.stringify(ends));
    const peakFile = join(group, "pids.peak");
    if (existsSync(peakFile)) {
      // pids.max holds forks, not migrations (the kernel's pids controller docs): each job's
      // first process joins its cgroup by a write to cgroup.procs, so a job started once
      // the other's bomb is at the limit may go one above it. Forks never do.
      const peak = Number(readFileSync(peakFile, "utf8"));
      assert.ok(peak <= 40 + alice.length && peak >= 30, `alice's jobs held ${peak} processes together at most`);
    }
    // Bob is not held by alice's limit.
    assert.deepEqual(await pool.wait(bob), { state: "completed", exitCode: 0 });
    assert.equal((await pool.output(bob)).stdout.toString(), "bob ok\n");
    assert.notEqual(pool.get(bob).isolation!.uid, uid);
    assert.equal(Number(readFileSync(join(group, "pids.current"), "utf8")), 0, "nothing of alice's is left");
  });
});
