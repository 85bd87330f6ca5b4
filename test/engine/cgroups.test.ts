// Pools here run without isolation (isolation: false): these tests check host PIDs that jobs
// print, and files under the host's /tmp, which namespaces hide. test/engine/isolation.test.ts
// covers the same guarantees for isolated jobs.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import {
  InvalidArgumentError,
  InvalidJobSpecError,
  JobPool,
  LimitAboveMaximumError,
  LimitNotEnforceableError,
  resolveUser,
} from "../../src/index.js";
import { isAlive } from "../helpers/processes.js";
import { readUntil } from "../helpers/streams.js";
import { until } from "../../src/engine/back-off.js";
import { tempDir } from "../helpers/temp-dir.js";
import { AFTER_SCHEMA_VERSIONS } from "../helpers/legacy-store.js";
import { checkoutReachableBy } from "../helpers/checkout-for-user.js";

const MIB = 1024 * 1024;

/** Why the cgroup tests cannot run here, or false when they can. */
async function cgroupSkipReason(): Promise<string | false> {
  if (process.getuid?.() !== 0) return "needs root (cgroups)";
  const dir = tempDir();
  try {
    const pool = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir: join(dir.path, "data") });
    const report = pool.resourceControl();
    await pool.close();
    if (!report.cgroups) return `no usable cgroups: ${report.problems.join("; ")}`;
    return false;
  } finally {
    dir.remove();
  }
}
const skip = await cgroupSkipReason();

/** The cgroup path of a process in one hierarchy ("0" for v2, else a controller name). */
function cgroupOf(pid: number, key: string): string | undefined {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n")) {
    const [id, controllers, path] = line.split(":");
    if ((key === "0" && id === "0") || controllers?.split(",").includes(key)) return path;
  }
  return undefined;
}

/** Mount point of a v1 controller's hierarchy. */
function v1Mount(controller: string): string | undefined {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [before, after] = line.split(" - ");
    const [fstype, , options = ""] = (after ?? "").split(" ");
    if (fstype === "cgroup" && options.split(",").includes(controller)) return before!.split(" ")[4];
  }
  return undefined;
}

/** CPU time (user + system) of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** Job cgroup directories left in the pool's parent directories. */
function leftoverJobCgroups(parentDirs: string[]): string[] {
  return parentDirs.flatMap((dir) =>
    existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name)) : [],
  );
}

/** Polls `check` (growing pauses, up to 50 ms) until it holds; fails the test after `limitMs`. */
async function eventually(what: string, check: () => boolean, limitMs = 20_000): Promise<void> {
  assert.ok(await until(check, limitMs), `${what} within ${limitMs} ms`);
}

describe("resource control with cgroups", { skip }, () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir: join(dir.path, "data"), stopGraceMs: 300 });
  });
  after(async () => {
    const parents = pool.resourceControl().parentDirs;
    await pool.close();
    dir.remove();
    assert.deepEqual(parents.filter((d) => existsSync(d)), [], "the pool's cgroup directories are removed at close");
  });

  it("says what it can enforce", () => {
    const report = pool.resourceControl();
    assert.equal(report.cgroups, true);
    assert.match(report.summary, /every job gets its own cgroup/);
    for (const name of ["memoryBytes", "cpus", "pids"] as const) assert.ok(report.enforced[name], `${name} is enforced on this host`);
  });

  it("puts every job in its own cgroup before it runs, and removes it when the job ends", async () => {
    const id = pool.create({ cmd: "cat", args: ["/proc/self/cgroup"] });
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
    const lines = (await pool.output(id)).stdout.toString();
    // The very first thing the job ran already was inside its cgroup, in every hierarchy used.
    assert.match(lines, new RegExp(`/jobworker/[0-9a-f]{16}/${id}\\n`));
    assert.deepEqual(leftoverJobCgroups(pool.resourceControl().parentDirs), []);
  });

  it("reports a job killed for exceeding its memory limit as out of memory", async () => {
    const hog = "const kept = []; for (;;) kept.push(Buffer.alloc(1 << 20, 1));";
    const id = pool.create({ cmd: process.execPath, args: ["-e", hog], limits: { memoryBytes: 96 * MIB } });
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 137, signal: "SIGKILL", oomKilled: true });
    const record = pool.get(id);
    assert.equal(record.oomKilled, true);
    assert.deepEqual(record.limits, { memoryBytes: 96 * MIB });
  });

  it("a job killed by an ordinary SIGKILL is not reported as out of memory", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", "kill -KILL $$"], limits: { memoryBytes: 96 * MIB } });
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 137, signal: "SIGKILL" });
  });

  it("bounds a fork bomb by the pids limit, and stop kills all of it", async () => {
    // The bomb goes off in a subshell, the job's first fork: a shell whose fork is refused
    // exits, and the main process must outlive it (its cgroup is read through its pid).
    // `exec sleep` then keeps it alive without another fork.
    const bomb = "(f() { f | f & }; f); echo ready; exec sleep 1000";
    const id = await pool.start({ cmd: "sh", args: ["-c", bomb], limits: { pids: 20, cpus: 0.5 } });
    await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.includes("ready"));
    const pid = pool.get(id).pid!;
    const pidsDir = join(v1Mount("pids") ?? "/sys/fs/cgroup", cgroupOf(pid, v1Mount("pids") ? "pids" : "0")!);
    const refusals = () => Number(/^max (\d+)$/m.exec(readFileSync(join(pidsDir, "pids.events"), "utf8"))?.[1] ?? 0);
    await eventually("the kernel refuses forks beyond the limit", () => refusals() > 0);
    assert.equal(readFileSync(join(pidsDir, "pids.max"), "utf8").trim(), "20");
    const current = Number(readFileSync(join(pidsDir, "pids.current"), "utf8"));
    assert.ok(current <= 20, `at most 20 processes (${current})`);
    await pool.stop(id);
    assert.equal(existsSync(pidsDir), false, "the job's cgroup is gone, so none of its processes is left");
  });

  it("throttles a CPU spinner to its share of a core", async () => {
    const id = await pool.start({ cmd: "sh", args: ["-c", "while :; do :; done"], limits: { cpus: 0.2 } });
    const pid = pool.get(id).pid!;
    const cpu0 = cpuSeconds(pid);
    const wall0 = performance.now();
    // Until it has used 0.4 s of CPU: at 0.2 CPU that takes about 2 s of wall time,
    // unthrottled 0.4 s (a loaded machine only makes the ratio look smaller).
    await eventually("the spinner uses 0.4 s of CPU", () => cpuSeconds(pid) - cpu0 >= 0.4, 30_000);
    const used = cpuSeconds(pid) - cpu0;
    const wall = (performance.now() - wall0) / 1000;
    await pool.stop(id);
    assert.ok(used / wall < 0.5, `a 0.2-CPU spinner used ${(used / wall).toFixed(2)} of wall time`);
    assert.deepEqual(pool.get(id).limits, { cpus: 0.2 });
  });

  it("throttles direct disk writes to the io write limit", async (t) => {
    if (!pool.resourceControl().enforced.ioWriteBps) return t.skip("the data directory's disk cannot be throttled here");
    const file = join(dir.path, "dd.out");
    // The job runs as its identity's own uid: it may write here.
    chmodSync(dir.path, 0o1777);
    // 2 MiB at 1 MiB/s: about 2 s; unthrottled, direct writes to this disk take milliseconds.
    const id = pool.create({
      cmd: "dd",
      args: ["if=/dev/zero", `of=${file}`, "bs=128k", "count=16", "oflag=direct"],
      limits: { ioWriteBps: 1 * MIB },
    });
    const status = await pool.wait(id);
    assert.deepEqual(status, { state: "completed", exitCode: 0 }, (await pool.output(id)).stderr.toString());
    const record = pool.get(id);
    const seconds = (record.endedAt! - record.createdAt) / 1000;
    assert.ok(2 / seconds < 2, `wrote at ${(2 / seconds).toFixed(2)} MiB/s with a 1 MiB/s limit`);
    assert.equal(readFileSync(file).length, 2 * MIB);
  });

  it("stop kills a grandchild that escaped the process group with setsid", async () => {
    const id = await pool.start({ cmd: "sh", args: ["-c", "setsid sleep 1000 & echo $!; exec sleep 1000"] });
    const out = await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.includes("\n"));
    const escaped = Number(out.toString().trim());
    const mainPid = pool.get(id).pid!;
    const pgrpOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[2];
    // setsid(1) runs setsid() then execs sleep: wait for the first to have happened.
    await eventually("the grandchild leaves the job's process group", () => pgrpOf(escaped) !== String(mainPid));
    await pool.stop(id);
    assert.equal(isAlive(escaped), false, "the escaped grandchild is killed by stop");
  });

  it("kills a double-forked daemon when the main process exits", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", "(setsid sleep 1000 & echo $!)"] });
    const out = await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.includes("\n"));
    const daemon = Number(out.toString().trim());
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
    assert.equal(isAlive(daemon), false);
  });

  it("leaves no cgroup behind after 500 jobs", async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 500) {
          const n = next++;
          const limits = n % 5 === 0 ? { memoryBytes: 64 * MIB, pids: 16, cpus: 1 } : undefined;
          const id = pool.create({ cmd: "/bin/true", ...(limits && { limits }) });
          assert.equal((await pool.wait(id)).exitCode, 0);
          await pool.delete(id);
        }
      }),
    );
    assert.deepEqual(leftoverJobCgroups(pool.resourceControl().parentDirs), []);
  });
});

describe("limits: defaults, maxima, validation", { skip }, () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({
      hostDefaultLimits: false,
      isolation: false,
      dataDir: join(dir.path, "data"),
      limits: { defaults: { pids: 100 }, maxima: { memoryBytes: 512 * MIB, pids: 200 } },
    });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("refuses a limit above the maximum with a clear error", () => {
    assert.throws(
      () => pool.create({ cmd: "true", limits: { memoryBytes: 1024 * MIB } }),
      (err: unknown) =>
        err instanceof LimitAboveMaximumError &&
        err.code === "LIMIT_ABOVE_MAXIMUM" &&
        err.message === "memory limit 1073741824 bytes is above this server's maximum of 536870912 bytes",
    );
    assert.throws(() => pool.create({ cmd: "true", limits: { pids: 201 } }), LimitAboveMaximumError);
  });

  it("gives a job that asks for nothing the defaults, else the maxima, and records them", async () => {
    const id = pool.create({ cmd: "true" });
    await pool.wait(id);
    assert.deepEqual(pool.get(id).limits, { memoryBytes: 512 * MIB, pids: 100 });
    const own = pool.create({ cmd: "true", limits: { memoryBytes: 128 * MIB, cpus: 0.5 } });
    await pool.wait(own);
    assert.deepEqual(pool.get(own).limits, { memoryBytes: 128 * MIB, cpus: 0.5, pids: 100 });
  });

  it("validates limits strictly", () => {
    for (const limits of [{ cpus: "0.5" }, { pids: 1.5 }, { memoryBytes: -1 }, { disk: 1 }, { pids: 1 }, { cpus: Infinity }, []]) {
      assert.throws(() => pool.create({ cmd: "true", limits: limits as never }), InvalidJobSpecError, JSON.stringify(limits));
    }
  });

  it("refuses a pool whose default is above its maximum", async () => {
    await assert.rejects(
      JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir: join(dir.path, "other"), limits: { defaults: { pids: 300 }, maxima: { pids: 200 } } }),
      InvalidArgumentError,
    );
  });

  it("keeps limits and the out-of-memory mark across a restart, and upgrades an older database", async () => {
    const dataDir = join(dir.path, "restart");
    let first = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir });
    const id = first.create({ cmd: "true", limits: { pids: 50 } });
    await first.wait(id);
    await first.close();
    // A data directory from before this release: no limits or oom_killed columns, and
    // (older than schema versions too) no user_version.
    const db = new Database(join(dataDir, "jobs.db"));
    db.exec(`ALTER TABLE jobs DROP COLUMN limits; ALTER TABLE jobs DROP COLUMN oom_killed; ${AFTER_SCHEMA_VERSIONS}; PRAGMA user_version = 0`);
    db.close();
    first = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir });
    assert.equal(first.get(id).limits, undefined);
    const again = first.create({ cmd: "true", limits: { pids: 50 } });
    await first.wait(again);
    await first.close();
    const reopened = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir });
    assert.deepEqual(reopened.get(again).limits, { pids: 50 });
    await reopened.close();
  });
});

describe("without cgroups", () => {
  const dir = tempDir();
  after(() => dir.remove());

  it("runs jobs, says what it cannot enforce, and refuses limits clearly", async () => {
    const pool = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir: join(dir.path, "off"), cgroups: false });
    try {
      const report = pool.resourceControl();
      assert.equal(report.cgroups, false);
      assert.equal(report.killMethod, "process-group");
      assert.match(report.summary, /no limit can be enforced/);
      assert.throws(
        () => pool.create({ cmd: "true", limits: { cpus: 0.5 } }),
        (err: unknown) => err instanceof LimitNotEnforceableError && err.code === "LIMIT_NOT_ENFORCEABLE" && /cannot enforce a cpus limit/.test(err.message),
      );
      assert.deepEqual(await pool.wait(pool.create({ cmd: "true" })), { state: "completed", exitCode: 0 });
    } finally {
      await pool.close();
    }
  });

  it("refuses to open with maxima it cannot enforce", async () => {
    await assert.rejects(JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir: join(dir.path, "max"), cgroups: false, limits: { maxima: { memoryBytes: 64 * MIB } } }), LimitNotEnforceableError);
  });

  it("a server without cgroup access (not root) refuses limit requests clearly", { skip: process.getuid?.() !== 0 ? "needs root to become another user" : !existsSync("/usr/bin/setpriv") && "needs setpriv" }, () => {
    const data = join(dir.path, "nobody");
    mkdirSync(data);
    chmodSync(dir.path, 0o755);
    chmodSync(data, 0o777);
    const nobody = resolveUser("nobody");
    const checkout = checkoutReachableBy(nobody.uid, nobody.gid);
    const probe = join(checkout.root, "test", "engine", "fixtures", "limits-probe.ts");
    let run;
    try {
      run = spawnSync(
        "setpriv",
        ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", process.execPath, "--import", "tsx", probe, join(data, "data")],
        { encoding: "utf8", env: { PATH: process.env.PATH!, HOME: data }, cwd: checkout.root, timeout: 60_000 },
      );
    } finally {
      checkout.release();
    }
    assert.equal(run.status, 0, run.stderr);
    const [report, refusal, plain] = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(report.report.cgroups, false);
    assert.match(report.report.problems[0], /permission denied/);
    assert.equal(refusal.refused, true);
    assert.equal(refusal.code, "LIMIT_NOT_ENFORCEABLE");
    assert.match(refusal.message, /cannot enforce a memory limit: .*permission denied/);
    assert.deepEqual(plain.plain, { state: "completed", exitCode: 0 });
  });
});

describe("run as an unprivileged user", { skip: process.getuid?.() !== 0 ? "needs root" : false }, () => {
  const dir = tempDir();
  let pool: JobPool;
  const nobody = resolveUser("nobody");
  before(async () => {
    chmodSync(dir.path, 0o755);
    pool = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir: join(dir.path, "data"), runAs: nobody });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("runs jobs as that user, who cannot read the data directory", async () => {
    const dataDir = join(dir.path, "data");
    const id = pool.create({ cmd: "sh", args: ["-c", `id -u; id -g; echo "$HOME"; ls ${dataDir}; cat ${dataDir}/jobs.db`] });
    const status = await pool.wait(id);
    const { stdout, stderr } = await pool.output(id);
    // Each identity its own home, owned by the run-as user (identities share its uid).
    const [uid, gid, home] = stdout.toString().split("\n");
    assert.deepEqual([uid, gid], [String(nobody.uid), String(nobody.gid)]);
    assert.match(home!, new RegExp(`^${dataDir}/homes/\\d+$`));
    assert.equal(pool.get(id).isolation?.uid, nobody.uid);
    assert.match(stderr.toString(), /ls: cannot open directory .*Permission denied/);
    assert.match(stderr.toString(), /cat: .*jobs\.db: Permission denied/);
    assert.equal(status.exitCode, 1);
  });

  it("gives jobs their user's supplementary groups", async (t) => {
    // Any user that is a member of some group (e.g. postgres in ssl-cert).
    const member = readFileSync("/etc/group", "utf8")
      .split("\n")
      .map((line) => line.split(":")[3]?.split(",")[0])
      .find((name) => name && name !== "root");
    if (!member) return t.skip("no user with supplementary groups");
    const user = resolveUser(member);
    assert.ok(user.groups!.length > 0);
    const other = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir: join(dir.path, "groups"), runAs: user });
    try {
      const id = other.create({ cmd: "id", args: ["-G"] });
      assert.deepEqual(await other.wait(id), { state: "completed", exitCode: 0 });
      const ids = (await other.output(id)).stdout.toString().trim().split(" ").map(Number);
      assert.deepEqual(new Set(ids), new Set([user.gid, ...user.groups!]));
      // A command that exists nowhere is said so; one the job's user may not reach is told
      // apart only where anyone may see it (see explain-spawn-failure.ts, visibleToAnyone).
      const missing = other.create({ cmd: "no-such-command-jobworker" });
      assert.deepEqual(other.status(missing), { state: "error", errorMsg: "command not found: no-such-command-jobworker", errorCode: "COMMAND_NOT_FOUND" });
      // The client's environment reaches the job's command, never the launcher, which runs
      // as root and is static: a loader variable such as LD_PRELOAD acts only in the job.
      const traced = other.create({ cmd: "sh", args: ["-c", 'echo "$GREETING"'], env: { GREETING: "hello", LD_DEBUG: "libs" } });
      await other.wait(traced);
      const { stdout, stderr } = await other.output(traced);
      assert.equal(stdout.toString(), "hello\n");
      assert.match(stderr.toString(), /initialize program: sh/);
      assert.doesNotMatch(stderr.toString(), /initialize program: (jobworker|env)\b/);
    } finally {
      await other.close();
    }
  });

  it("takes root as the run-as user: jobs then run unconfined, and the pool says so", async () => {
    const root = resolveUser("root");
    assert.equal(root.uid, 0);
    const asRoot = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir: join(dir.path, "root"), runAs: root });
    try {
      assert.match(asRoot.confinement().summary, /none \(--run-as root\)/);
      const id = asRoot.create({ cmd: "id", args: ["-u"] });
      await asRoot.wait(id);
      assert.equal((await asRoot.output(id)).stdout.toString(), "0\n");
    } finally {
      await asRoot.close();
    }
  });
});

describe("cgroups left by a crashed server", { skip }, () => {
  const dir = tempDir();
  after(() => dir.remove());

  it("kills their processes and removes them at the next start", async () => {
    const dataDir = join(dir.path, "data");
    let pool = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir });
    const parents = pool.resourceControl().parentDirs;
    await pool.close();
    // What a server killed -9 leaves: a job cgroup with a live process in it.
    const stray = spawn("sleep", ["1000"], { detached: true, stdio: "ignore" });
    const leftover = join(parents[0]!, "00000000-0000-4000-8000-000000000000");
    mkdirSync(leftover, { recursive: true });
    try {
      writeFileSync(join(leftover, "cgroup.procs"), String(stray.pid));
      pool = await JobPool.open({ isolation: false, hostDefaultLimits: false, dataDir });
      assert.equal(isAlive(stray.pid!), false);
      assert.equal(existsSync(leftover), false);
      await pool.close();
    } finally {
      stray.kill("SIGKILL");
      if (existsSync(leftover)) rmdirSync(leftover);
    }
  });
});
