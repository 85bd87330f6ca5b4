// Isolation (docs/design.md, "Isolation"): each job in its own PID, mount, IPC and UTS
// namespaces with an init as PID 1, a private /tmp, and on request no network. Real jobs,
// as root; the refusals where isolation is off run anywhere.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { IsolationNotAvailableError, JobPool, LauncherUnavailableError, resolveUser } from "../../src/index.js";
import { cmdlineOf, isAlive, processesWhere } from "../helpers/processes.js";
import { readUntil } from "../helpers/streams.js";

/** Some fields of an object (the record's isolation also tells the uid and confinement). */
function pick<T extends object, K extends keyof T>(value: T | undefined, ...keys: K[]): Pick<T, K> | undefined {
  return value && (Object.fromEntries(keys.map((key) => [key, value[key]])) as Pick<T, K>);
}
import { tempDir } from "../helpers/temp-dir.js";

const MIB = 1024 * 1024;
const asRoot = process.getuid?.() === 0;

async function runJob(pool: JobPool, spec: Parameters<JobPool["create"]>[0]) {
  const id = pool.create(spec);
  const status = await pool.wait(id);
  const { stdout, stderr } = await pool.output(id);
  return { id, status, stdout: stdout.toString(), stderr: stderr.toString() };
}

/** PIDs of live host processes whose command line is exactly `argv`. */
function hostProcesses(argv: string[]): number[] {
  const wanted = argv.join("\0") + "\0";
  return processesWhere((pid) => cmdlineOf(pid) === wanted && isAlive(pid));
}

describe("isolated jobs", { skip: asRoot ? false : "needs root" }, () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), stopGraceMs: 500 });
    assert.equal(pool.isolation().enabled, true, pool.isolation().summary);
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("sees only its own processes, with an init (not the command) as PID 1, and its own hostname", async () => {
    const job = await runJob(pool, { cmd: "sh", args: ["-c", "ps -eo pid=,comm=; echo --; tr '\\0' ' ' < /proc/1/cmdline; echo; hostname"] });
    assert.deepEqual(job.status, { state: "completed", exitCode: 0 }, job.stderr);
    const [ps, rest] = job.stdout.split("--\n");
    const [cmdline, name] = rest!.split("\n");
    const processes = ps!.trim().split("\n").map((line) => line.trim().split(/\s+/));
    assert.deepEqual(processes.map(([pid]) => pid), ["1", "2", String(processes.length)]);
    assert.deepEqual(processes.map(([, comm]) => comm), ["jobworker-init", "sh", "ps"]);
    // Started by the launcher, init shows only its name (not the launcher's arguments).
    assert.equal(cmdline!.trim(), "jobworker-init");
    assert.equal(name, `job-${job.id.replace(/-/g, "").slice(0, 8)}`);
    assert.notEqual(name, hostname());
    assert.deepEqual(pick(pool.get(job.id).isolation, "namespaces", "network"), { namespaces: ["pid", "mount", "ipc", "uts"], network: "host" });
  });

  it("has a private, empty /tmp and /var/tmp that neither the host nor another job sees", async () => {
    const marker = `jobworker-isolation-${process.pid}-${Date.now()}`;
    const first = await runJob(pool, { cmd: "sh", args: ["-c", `ls -A /tmp /var/tmp; echo secret > /tmp/${marker}; echo x > /var/tmp/${marker}; cat /tmp/${marker}`] });
    assert.equal(first.stdout, "/tmp:\n\n/var/tmp:\nsecret\n", first.stderr);
    assert.equal(existsSync(`/tmp/${marker}`), false);
    assert.equal(existsSync(`/var/tmp/${marker}`), false);
    const second = await runJob(pool, { cmd: "sh", args: ["-c", `ls -A /tmp; test ! -e /tmp/${marker}`] });
    assert.deepEqual(second.status, { state: "completed", exitCode: 0 });
    assert.equal(second.stdout, "");
  });

  it("works in its private /tmp by default: a file made there by a relative path stays in the job, on every start path", async () => {
    // The working directory is entered before /tmp is mounted; it must be entered again,
    // or relative paths would write into the host's /tmp (seen before this was fixed).
    for (const launcher of [true]) {
      const own = await JobPool.open({ dataDir: join(dir.path, `cwd-${launcher}`) });
      try {
        const marker = `jobworker-relative-${process.pid}-${launcher}`;
        const job = await runJob(own, { cmd: "sh", args: ["-c", `pwd; echo inside > ./${marker}; cat /tmp/${marker}`] });
        assert.deepEqual(job.status, { state: "completed", exitCode: 0 }, job.stderr);
        assert.equal(job.stdout, "/tmp\ninside\n");
        assert.equal(existsSync(`/tmp/${marker}`), false, `launcher ${launcher}: nothing lands in the host's /tmp`);
      } finally {
        await own.close();
      }
    }
  });

  it("does not find a working directory that exists only in the host's /tmp", async () => {
    const hostOnly = mkdtempSync(join(tmpdir(), "jobworker-host-only-"));
    try {
      const job = await runJob(pool, { cmd: "true", cwd: hostOnly });
      assert.equal(job.status.state, "error");
      assert.equal(job.status.errorCode, "CWD_NOT_FOUND");
      assert.match(job.status.errorMsg!, /working directory not found: .*the job's \/tmp and \/var\/tmp are its own/);
    } finally {
      rmSync(hostOnly, { recursive: true, force: true });
    }
  });

  it("has its own SysV IPC: a queue it makes is seen by neither the host nor another job", async () => {
    const hostQueues = () => execFileSync("ipcs", ["-q"], { encoding: "utf8" });
    const before = hostQueues();
    const maker = await runJob(pool, { cmd: "sh", args: ["-c", "ipcmk -Q >/dev/null && ipcs -q | grep -c '^0x'"] });
    assert.equal(maker.stdout, "1\n", maker.stderr);
    assert.equal(hostQueues(), before);
    const other = await runJob(pool, { cmd: "sh", args: ["-c", "ipcs -q | grep -c '^0x' || true"] });
    assert.equal(other.stdout, "0\n");
  });

  it('with network "none" has only loopback, up, and cannot reach the host\'s listeners', async () => {
    // The job exits as soon as it connects: a reset on our side is expected.
    const listener = createServer((socket) => socket.on("error", () => {}).end("hello from the host\n"));
    await new Promise<void>((done) => listener.listen(0, "127.0.0.1", done));
    const port = (listener.address() as { port: number }).port;
    try {
      const connect = `require("net").connect(${port}, "127.0.0.1").on("connect", () => { console.log("connected"); process.exit(0) }).on("error", (e) => { console.log(e.code); process.exit(3) })`;
      const closed = await runJob(pool, { cmd: "sh", args: ["-c", `cat /proc/net/dev; "${process.execPath}" -e '${connect}'`], network: "none" });
      const interfaces = closed.stdout.split("\n").slice(2).filter((l) => l.includes(":")).map((l) => l.trim().split(":")[0]);
      assert.deepEqual(interfaces, ["lo"]);
      assert.match(closed.stdout, /ECONNREFUSED\n$/);
      assert.deepEqual(closed.status, { state: "completed", exitCode: 3 });
      assert.deepEqual(pick(pool.get(closed.id).isolation, "namespaces", "network"), { namespaces: ["pid", "mount", "ipc", "uts", "net"], network: "none" });
      // The host network stays the default.
      const open = await runJob(pool, { cmd: process.execPath, args: ["-e", connect] });
      assert.equal(open.stdout, "connected\n");
    } finally {
      listener.close();
    }
  });

  it("stop: a job that traps SIGTERM runs its handler and exits with its own code", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", 'trap "echo bye; exit 7" TERM; echo ready; sleep 100 & wait'] });
    await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.includes("ready\n"));
    await pool.stop(id);
    assert.deepEqual(pool.status(id), { state: "completed", exitCode: 7 });
    assert.match((await pool.output(id)).stdout.toString(), /bye/);
  });

  it("stop: a job that ignores SIGTERM is killed after the grace period", async () => {
    const id = pool.create({ cmd: "sh", args: ["-c", 'trap "" TERM; echo ready; sleep 100 & wait'] });
    await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.includes("ready\n"));
    await pool.stop(id);
    assert.deepEqual(pool.status(id), { state: "completed", exitCode: 137, signal: "SIGKILL" });
  });

  it("stop at once after start: SIGTERM reaches the command even before it ran, on every start path", { timeout: 120_000 }, async () => {
    // A namespace's init gets no signal it has no handler for: a stop sent while the init
    // was still setting up used to be dropped, and the job ran until the grace period's
    // SIGKILL. The long grace makes a lost SIGTERM show as SIGKILL, not as slowness.
    for (const launcher of [true]) {
      const patient = await JobPool.open({ dataDir: join(dir.path, `stop-at-once-${launcher}`), stopGraceMs: 60_000 });
      try {
        for (const network of ["host", "none"] as const) {
          for (let round = 0; round < 3; round++) {
            const id = patient.create({ cmd: "sleep", args: ["1000"], network });
            await patient.stop(id);
            assert.deepEqual(patient.status(id), { state: "completed", exitCode: 143, signal: "SIGTERM" }, `launcher ${launcher}, network ${network}`);
          }
        }
      } finally {
        await patient.close();
      }
    }
  });

  it("stop kills a process that escaped the job's process group with setsid", async () => {
    const escapee = ["sleep", "4242.25"];
    const id = pool.create({ cmd: "sh", args: ["-c", `setsid ${escapee.join(" ")} & echo started; sleep 1000`] });
    await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.includes("started\n"));
    await pool.stop(id);
    assert.deepEqual(hostProcesses(escapee), []);
  });

  it("reaps orphans inside the job: an orphan that exits leaves no zombie", async () => {
    // The orphan's pid stays valid (kill -0 succeeds) for as long as it is unreaped: the
    // loop ends only once PID 1 has reaped it; bounded, so a missing reaper fails.
    const script = '(sleep 0.1 & echo $! > /tmp/orphan); o=$(cat /tmp/orphan); i=0; while kill -0 "$o" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; kill -0 "$o" 2>/dev/null && echo "not reaped" || echo reaped';
    const job = await runJob(pool, { cmd: "sh", args: ["-c", script] });
    assert.equal(job.stdout, "reaped\n", job.stderr);
  });

  it("exit codes and signals are the command's own; a missing command is an error, not 127", async () => {
    assert.deepEqual((await runJob(pool, { cmd: "false" })).status, { state: "completed", exitCode: 1 });
    assert.deepEqual((await runJob(pool, { cmd: "sh", args: ["-c", "kill -KILL $$"] })).status, { state: "completed", exitCode: 137, signal: "SIGKILL" });
    assert.deepEqual((await runJob(pool, { cmd: "sh", args: ["-c", "exit 42"] })).status, { state: "completed", exitCode: 42 });
    const missing = pool.create({ cmd: "no-such-command-xyz" });
    assert.deepEqual(pool.status(missing), { state: "error", errorMsg: "command not found: no-such-command-xyz", errorCode: "COMMAND_NOT_FOUND" });
    // Found by the pre-check but not executable by exec: reported by the helper, still an error.
    const notExec = await runJob(pool, { cmd: "/proc/self/status" });
    assert.equal(notExec.status.state, "error");
    assert.match(notExec.status.errorMsg!, /permission denied/);
    assert.equal(notExec.status.errorCode, "PERMISSION_DENIED");
  });

  it("output stays byte-exact", async () => {
    const job = await runJob(pool, { cmd: "sh", args: ["-c", "head -c 300000 /dev/zero | tr '\\0' '\\377'; printf 'e\\0rr' >&2"] });
    assert.equal(job.stdout.length > 0, true);
    const { stdout, stderr } = await pool.output(job.id);
    assert.equal(stdout.length, 300000);
    assert.ok(stdout.every((b) => b === 0xff));
    assert.deepEqual(stderr, Buffer.from("e\0rr"));
  });

  it("a job over its memory limit is still reported as out of memory", { skip: !pool_enforces_memory() && "no memory cgroup here" }, async () => {
    const hog = "const kept = []; for (;;) kept.push(Buffer.alloc(1 << 20, 1));";
    const id = pool.create({ cmd: process.execPath, args: ["-e", hog], limits: { memoryBytes: 96 * MIB } });
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 137, signal: "SIGKILL", oomKilled: true });
  });
});

function pool_enforces_memory(): boolean {
  return existsSync("/sys/fs/cgroup/memory") || existsSync("/sys/fs/cgroup/cgroup.controllers");
}

describe("isolated jobs run as another user", { skip: asRoot ? false : "needs root" }, () => {
  const dir = tempDir();
  let pool: JobPool;
  const nobody = asRoot ? resolveUser("nobody") : undefined;
  before(async () => {
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), runAs: nobody! });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("drops privileges inside the namespaces: the user's ids, its own /tmp, only its processes", async () => {
    const job = await runJob(pool, { cmd: "sh", args: ["-c", "id -u; id -g; id -G; echo hi > /tmp/f && cat /tmp/f; ps -eo pid= | wc -l"] });
    assert.deepEqual(job.status, { state: "completed", exitCode: 0 }, job.stderr);
    const groups = nobody!.groups?.length ? nobody!.groups.join(" ") : String(nobody!.gid);
    const [uid, gid, allGroups, hi] = job.stdout.split("\n");
    assert.deepEqual([uid, gid, hi], [String(nobody!.uid), String(nobody!.gid), "hi"]);
    assert.ok(allGroups!.split(" ").every((g) => groups.split(" ").includes(g) || g === String(nobody!.gid)), allGroups);
    assert.ok(pool.get(job.id).isolation);
  });
});

describe("without isolation", () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), isolation: false });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("jobs run as before: the host's hostname and processes, no isolation in the record", async () => {
    assert.equal(pool.isolation().enabled, false);
    assert.match(pool.isolation().summary, /off/);
    const job = await runJob(pool, { cmd: "sh", args: ["-c", "hostname; echo $$"] });
    const [name, pid] = job.stdout.split("\n");
    assert.equal(name, hostname());
    assert.notEqual(pid, "1");
    assert.notEqual(pid, "2");
    assert.deepEqual(pool.get(job.id).isolation?.namespaces ?? [], []);
  });

  it('refuses network "none", clearly, and creates nothing', async () => {
    const before = pool.list().length;
    assert.throws(() => pool.create({ cmd: "true", network: "none" }), (err: unknown) => {
      assert.ok(err instanceof IsolationNotAvailableError);
      assert.equal(err.code, "ISOLATION_NOT_AVAILABLE");
      assert.match(err.message, /network "none" needs isolation/);
      return true;
    });
    assert.equal(pool.list().length, before);
  });

  it("a pool told to give every job network none refuses to open", async () => {
    const other = tempDir();
    try {
      await assert.rejects(JobPool.open({ dataDir: join(other.path, "data"), isolation: false as const }).then((p) => p.close()).then(() =>
        JobPool.open({ dataDir: join(other.path, "data2"), isolation: false as const }).then(async (p) => {
          await p.close();
          // Told to isolate every job's network, on a pool that has no isolation.
          await JobPool.open({ dataDir: join(other.path, "data3"), isolation: { networkNone: true }, ...(asRoot ? { launcherProgram: "/bin/false" } : {}) });
        })),
        (err: unknown) => (err instanceof IsolationNotAvailableError && /network "none"/.test(err.message)) || (err instanceof LauncherUnavailableError && /npm run build/.test(err.message)));
    } finally {
      other.remove();
    }
  });
});

describe("a host without the launcher", () => {
  const dir = tempDir();
  after(() => dir.remove());

  it("refuses to open, saying how to build it, and leaves the data directory free", async () => {
    // Every job starts through the launcher: without it nothing could be confined, so nothing runs.
    await assert.rejects(JobPool.open({ dataDir: join(dir.path, "data"), launcherProgram: "/nonexistent/jobworker-launcher" }), (err: unknown) => {
      assert.ok(err instanceof LauncherUnavailableError, String(err));
      assert.match(err.message, /not built.*npm run build/s);
      return true;
    });
    const pool = await JobPool.open({ dataDir: join(dir.path, "data") });
    await pool.close();
  });
});

describe("serve --network none: every job without network", { skip: asRoot ? false : "needs root" }, () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), isolation: { networkNone: true } });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("a job that asks for the host network still gets none", async () => {
    const job = await runJob(pool, { cmd: "cat", args: ["/proc/net/dev"], network: "host" });
    assert.deepEqual(job.stdout.split("\n").slice(2).filter((l) => l.includes(":")).map((l) => l.trim().split(":")[0]), ["lo"]);
    assert.equal(pool.get(job.id).isolation?.network, "none");
  });
});
