// The start path under stress (docs/design.md, "The start path"): `create` records a job
// and returns in the same turn, whatever the launcher does; the launcher works off a
// burst without freezing the server's timers, a stopped launcher only delays starts, a
// killed one never makes a command run twice, and a failure of a job's end-of-job cleanup
// is itself recorded as its end. Real processes; the launcher is stopped and killed for real.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { after, describe, it, type TestContext } from "node:test";
import { JobPool } from "../../src/index.js";
import type { JobStatus } from "../../src/engine/types.js";
import { until } from "../../src/engine/back-off.js";
import { JOB_ERROR_CODES } from "../../src/protocol/error-codes.js";
import { statField } from "../../src/engine/proc-stat.js";
import { processStartTime } from "../../src/engine/process-identity.js";
import { isAlive } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp-dir.js";

/** A process's state letter ("T": stopped), or undefined once it is gone. */
function processState(pid: number): string | undefined {
  return statField(pid, 3);
}

/** This thread's time on a CPU and waiting for one, in ms (/proc/thread-self/schedstat, kept by the scheduler). */
function schedulerTimes(): { runMs: number; waitMs: number } {
  const [run, wait] = readFileSync("/proc/thread-self/schedstat", "latin1").split(" ").map(Number);
  return { runMs: run! / 1e6, waitMs: wait! / 1e6 };
}

/**
 * A `setInterval` of `periodMs` on this thread: how often it fired, and the longest the
 * timers went without firing. The gaps are measured twice: as they were (which a loaded
 * host stretches, other processes holding both CPUs), and as this thread's own time,
 * without what it spent waiting for a CPU: a thread that blocks (a synchronous wait) or
 * computes for long in one turn makes a long own gap; a busy host does not.
 */
interface WatchdogReport {
  ticks: number;
  elapsedMs: number;
  /** The longest gap between two firings, as it was. */
  maxGapMs: number;
  /** The longest this thread's own time between two firings (running, or blocked), and how much of that it ran. */
  maxOwnGapMs: number;
  ranInMaxOwnGapMs: number;
}

function watchdog(periodMs = 10): { stop: () => WatchdogReport } {
  const began = performance.now();
  let last = { at: began, ...schedulerTimes() };
  let maxGapMs = 0;
  let maxOwnGapMs = 0;
  let ranInMaxOwnGapMs = 0;
  let ticks = 0;
  const tick = () => {
    const now = { at: performance.now(), ...schedulerTimes() };
    const gap = now.at - last.at;
    const own = gap - (now.waitMs - last.waitMs);
    maxGapMs = Math.max(maxGapMs, gap);
    if (own > maxOwnGapMs) {
      maxOwnGapMs = own;
      ranInMaxOwnGapMs = now.runMs - last.runMs;
    }
    last = now;
  };
  const timer = setInterval(() => {
    tick();
    ticks++;
  }, periodMs);
  return {
    stop: () => {
      clearInterval(timer);
      tick();
      return { ticks, elapsedMs: last.at - began, maxGapMs, maxOwnGapMs, ranInMaxOwnGapMs };
    },
  };
}

/** Resolves with `promise`, or rejects once `ms` have passed: a bound that names what hung. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** The longest this thread may go without its timers firing, in its own time (see `watchdog`). */
const MAX_OWN_GAP_MS = 2000;

/** How many statuses are not `{ state: "completed", exitCode: 0 }`, with the first few of them. */
function notCompleted(ids: string[], statuses: JobStatus[]): { count: number; first: string } {
  const bad = statuses.map((status, i) => ({ id: ids[i], status })).filter(({ status }) => status.state !== "completed" || status.exitCode !== 0 || status.signal !== undefined);
  return { count: bad.length, first: JSON.stringify(bad.slice(0, 3)) };
}

/** `count` creates of `true` in one turn of the event loop; then every job must complete with exit 0 while timers keep firing. */
async function burst(t: TestContext, pool: JobPool, count: number, waitLimitMs: number): Promise<void> {
  const ids: string[] = [];
  const began = performance.now();
  for (let i = 0; i < count; i++) ids.push(pool.create({ cmd: "true" }));
  const loopMs = performance.now() - began;
  // Not one turn has passed: every job is recorded, and counts as running.
  assert.equal(new Set(ids).size, count);
  assert.equal(pool.runningCount(), count);
  assert.equal(pool.status(ids[count - 1]!).state, "running");
  const dog = watchdog();
  const statuses = await within(Promise.all(ids.map((id) => pool.wait(id))), waitLimitMs, `the ${count} jobs' ends`);
  const { ticks, maxGapMs, maxOwnGapMs, ranInMaxOwnGapMs, elapsedMs } = dog.stop();
  t.diagnostic(
    `${count} creates: ${loopMs.toFixed(0)} ms in one turn; all ended ${elapsedMs.toFixed(0)} ms later; ` +
      `watchdog ${ticks} ticks, longest gap ${maxGapMs.toFixed(0)} ms (${maxOwnGapMs.toFixed(0)} ms of it this thread's own, running ${ranInMaxOwnGapMs.toFixed(0)} ms); load ${loadavg()[0]!.toFixed(1)}`,
  );
  const bad = notCompleted(ids, statuses);
  assert.equal(bad.count, 0, `jobs that did not complete with exit 0: ${bad.count}, such as ${bad.first}`);
  assert.equal(pool.runningCount(), 0);
  assert.equal(pool.countByState().completed, count);
  // The timers never froze: a 10 ms interval fired all along. A thread that waited for the
  // launcher would not fire for as long as the burst lasts (seconds); working off thousands
  // of completions that arrive together takes one turn some hundreds of ms here (cgroup v1,
  // 2 CPUs), whence the bound, which leaves out the time spent waiting for a CPU.
  assert.ok(ticks >= Math.min(10, elapsedMs / 40), `the watchdog fired ${ticks} times in ${elapsedMs.toFixed(0)} ms`);
  assert.ok(
    maxOwnGapMs < MAX_OWN_GAP_MS,
    `the timers went ${maxGapMs.toFixed(0)} ms without firing, ${maxOwnGapMs.toFixed(0)} ms of it not waiting for a CPU (running ${ranInMaxOwnGapMs.toFixed(0)} ms)`,
  );
}

describe("the start path", () => {
  const dir = tempDir();
  after(() => dir.remove());

  it("5,000 creates in one turn (no isolation): every job completes with exit 0, and timers keep firing", { timeout: 240_000 }, async (t) => {
    const pool = await JobPool.open({ dataDir: join(dir.path, "burst-plain"), isolation: false });
    try {
      await burst(t, pool, 5000, 200_000);
    } finally {
      await pool.close();
    }
  });

  it("1,000 creates in one turn (default isolation): every job completes with exit 0, and timers keep firing", { timeout: 240_000 }, async (t) => {
    const pool = await JobPool.open({ dataDir: join(dir.path, "burst-isolated") });
    try {
      assert.equal(pool.isolation().enabled, true, pool.isolation().summary);
      await burst(t, pool, 1000, 200_000);
    } finally {
      await pool.close();
    }
  });

  it("a stopped launcher delays starts only: creates return at once, timers fire, and the jobs run once it continues", { timeout: 60_000 }, async (t) => {
    const pool = await JobPool.open({ dataDir: join(dir.path, "stopped"), isolation: false });
    const pid = pool.launcherPid()!;
    let stopped = false;
    try {
      assert.equal(typeof pid, "number");
      process.kill(pid, "SIGSTOP");
      stopped = true;
      assert.ok(await until(() => processState(pid) === "T", 5000), `the launcher stopped (state ${processState(pid)})`);
      const ids: string[] = [];
      const began = performance.now();
      for (let i = 0; i < 50; i++) ids.push(pool.create({ cmd: "true" }));
      await new Promise((resolve) => setImmediate(resolve));
      const turnMs = performance.now() - began;
      assert.equal(processState(pid), "T", "the creates and a turn of the loop were done while the launcher was stopped");
      // Timers fire while it is stopped: nothing of this thread waits for it.
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(processState(pid), "T", "the 50 ms timer fired while the launcher was stopped");
      t.diagnostic(`50 creates and a setImmediate: ${turnMs.toFixed(1)} ms, with the launcher stopped`);
      assert.ok(turnMs < 5000, `50 creates took ${turnMs.toFixed(0)} ms`);
      for (const id of ids) {
        assert.deepEqual(pool.status(id), { state: "running" });
        assert.equal(pool.get(id).pid, undefined, "no process yet: the launcher has not run");
      }
      assert.equal(pool.runningCount(), 50);
      process.kill(pid, "SIGCONT");
      stopped = false;
      const statuses = await within(Promise.all(ids.map((id) => pool.wait(id))), 30_000, "the 50 jobs' ends after SIGCONT");
      const bad = notCompleted(ids, statuses);
      assert.equal(bad.count, 0, `jobs that did not complete with exit 0: ${bad.count}, such as ${bad.first}`);
      assert.equal(pool.launcherPid(), pid, "the same launcher ran them: a stopped one is not replaced");
    } finally {
      if (stopped) process.kill(pid, "SIGCONT");
      await pool.close();
    }
  });

  it("a launcher SIGKILLed in the middle of a burst: every job ends, no command runs twice, and a new launcher takes over", { timeout: 120_000 }, async (t) => {
    // Without isolation the jobs share the host's /tmp; they run as a uid of their own, so
    // the marker directory is open to all. Each job marks that it ran, then waits for ever:
    // none can end before the kill, however far ahead of this thread the launcher gets.
    const markers = mkdtempSync(join(tmpdir(), "jobworker-markers-"));
    chmodSync(markers, 0o777);
    const pool = await JobPool.open({ dataDir: join(dir.path, "killed"), isolation: false });
    try {
      const oldPid = pool.launcherPid()!;
      // One job that ended before the kill keeps its end.
      const before = await pool.start({ cmd: "true" });
      assert.deepEqual(await pool.wait(before), { state: "completed", exitCode: 0 });
      const ids: string[] = [];
      pool.observe({ recorded: (record) => ids.push(record.id) });
      const spec = { cmd: "sh", args: ["-c", 'echo x >> "$0/$JOBWORKER_JOB_ID"; exec sleep 600', markers] };
      let answered = 0;
      // The processes the launcher had started when it was killed, by pid and start time
      // (pids are reused, and pid_max may be 32768).
      const pidsAtKill = new Map<string, { pid: number; start: string | undefined }>();
      const starts: Promise<string>[] = [];
      for (let i = 0; i < 300; i++) {
        starts.push(
          pool.start(spec).then((id) => {
            if (++answered === 100) {
              for (const started of ids) {
                const pid = pool.get(started).pid;
                if (pid !== undefined) pidsAtKill.set(started, { pid, start: processStartTime(pid) });
              }
              process.kill(oldPid, "SIGKILL");
            }
            return id;
          }),
        );
      }
      assert.equal(ids.length, 300, "every job was recorded in the creating turn");
      await within(Promise.all(starts), 30_000, "every start settled");
      assert.equal(answered, 300);
      assert.ok(pidsAtKill.size >= 100, `the launcher was killed after it had started at least 100 jobs (${pidsAtKill.size})`);
      const statuses = await within(Promise.all(ids.map((id) => pool.wait(id))), 30_000, "every job's end");
      assert.equal(pool.runningCount(), 0);
      assert.deepEqual(pool.status(before), { state: "completed", exitCode: 0 }, "the job that ended before the kill");

      const counts = { started: pidsAtKill.size, marked: 0 };
      for (const [i, id] of ids.entries()) {
        const status = statuses[i]!;
        const marker = join(markers, id);
        const lines = existsSync(marker) ? readFileSync(marker, "utf8").split("\n").filter(Boolean).length : 0;
        assert.ok(lines <= 1, `job ${id} ran ${lines} times`);
        if (lines === 1) counts.marked++;
        assert.equal(status.state, "error", `job ${id}: ${JSON.stringify(status)}`);
        assert.equal(status.errorCode, "INTERRUPTED", `job ${id}: ${JSON.stringify(status)}`);
        assert.match(status.errorMsg!, /launcher ended unexpectedly/);
      }
      t.diagnostic(`at the kill at the 100th answer: ${JSON.stringify(counts)}`);
      // Ended for real: no process the launcher had started is left sleeping (a zombie
      // is one that init has yet to reap).
      const sleeping = () => [...pidsAtKill.values()].filter(({ pid, start }) => start !== undefined && processStartTime(pid) === start && processState(pid) !== "Z");
      assert.ok(await until(() => sleeping().length === 0, 5000), `jobs' processes still alive after the kill: ${sleeping().length}`);
      assert.ok(await until(() => !isAlive(oldPid), 5000), "the old launcher is gone");

      // New creates succeed, through a new launcher.
      const again = pool.create({ cmd: "sh", args: ["-c", "echo again"] });
      assert.deepEqual(await within(pool.wait(again), 20_000, "a job after the kill"), { state: "completed", exitCode: 0 });
      assert.equal((await pool.output(again)).stdout.toString(), "again\n");
      const newPid = pool.launcherPid()!;
      assert.notEqual(newPid, oldPid, "a new launcher took over");
      assert.equal(isAlive(newPid), true);
      const sleeper = await pool.start({ cmd: "sleep", args: ["30"] });
      assert.equal(Number(statField(pool.get(sleeper).pid!, 4)), newPid, "the new launcher forked it");
      await pool.stop(sleeper);
      assert.equal(pool.status(sleeper).signal, "SIGTERM");
    } finally {
      await pool.close();
      rmSync(markers, { recursive: true, force: true });
    }
  });

  it("a launcher SIGKILLed under isolated jobs: each ends INTERRUPTED, none of their processes is left, and the next job runs", { timeout: 60_000 }, async () => {
    // Isolated jobs' inits and the launcher's spares are processes the launcher made
    // without waiting for them; its death must still be heard, and end them all.
    const pool = await JobPool.open({ dataDir: join(dir.path, "killed-isolated") });
    try {
      assert.equal(pool.isolation().enabled, true, pool.isolation().summary);
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await pool.start({ cmd: "sleep", args: ["600"] }));
      const processes = ids.map((id) => pool.get(id).pid!).map((pid) => ({ pid, start: processStartTime(pid) }));
      process.kill(pool.launcherPid()!, "SIGKILL");
      const statuses = await within(Promise.all(ids.map((id) => pool.wait(id))), 20_000, "the jobs' ends");
      for (const status of statuses) assert.equal(status.errorCode, "INTERRUPTED", JSON.stringify(status));
      const left = () => processes.filter(({ pid, start }) => start !== undefined && processStartTime(pid) === start && processState(pid) !== "Z");
      assert.ok(await until(() => left().length === 0, 5000), `processes left: ${left().length}`);
      const again = pool.create({ cmd: "echo", args: ["again"] });
      assert.deepEqual(await within(pool.wait(again), 20_000, "a job after the kill"), { state: "completed", exitCode: 0 });
    } finally {
      await pool.close();
    }
  });

  it("a failure of the end-of-job cleanup is recorded as the job's end: it ends in error, and nothing counts as running", { timeout: 60_000 }, async () => {
    // The output cap stops a job that wrote 1 MB and cuts its output to 10 bytes; its
    // stdout is made append-only (chattr +a) before it writes, so that the cut (a
    // truncate) fails with EPERM, even for root.
    const dataDir = join(dir.path, "cleanup");
    const pool = await JobPool.open({ dataDir, isolation: false, maxOutputBytes: 10 });
    let appendOnly: string | undefined;
    try {
      const id = await pool.start({ cmd: "sh", args: ["-c", "read go; head -c 1048576 /dev/zero; exec sleep 30"], stdin: true });
      const stdoutPath = join(dataDir, "jobs", `${id}.stdout`);
      const chattr = spawnSync("chattr", ["+a", stdoutPath], { encoding: "utf8" });
      assert.equal(chattr.status, 0, `chattr +a: ${chattr.error?.message ?? chattr.stderr}`);
      appendOnly = stdoutPath;
      pool.openStdin(id).end("go\n");

      const status = await within(pool.wait(id), 30_000, "the job's end");
      assert.equal(status.state, "error", JSON.stringify(status));
      assert.match(status.errorMsg!, /end could not be cleaned up \(EPERM\)/);
      assert.ok((JOB_ERROR_CODES as readonly string[]).includes(status.errorCode!), `error code ${status.errorCode}`);
      assert.equal(pool.runningCount(), 0);
      // The end is recorded: the stored record says so too.
      const record = pool.get(id);
      assert.equal(record.state, "error");
      assert.equal(typeof record.endedAt, "number");
      assert.equal(record.stdoutBytes, 10, "the record shows no more than the cap");
      // The job was stopped as soon as it passed the cap (somewhere in its 1 MB); the cut failed.
      const size = statSync(stdoutPath).size;
      assert.ok(size > 10 && size <= 1048576, `the cut did fail: the file holds ${size} bytes`);
      assert.equal(pool.countByState().running, 0);
      // The pool goes on: another job runs and ends, and close resolves.
      const next = pool.create({ cmd: "true" });
      assert.deepEqual(await within(pool.wait(next), 20_000, "the next job"), { state: "completed", exitCode: 0 });
    } finally {
      await within(pool.close(), 30_000, "close");
      if (appendOnly) spawnSync("chattr", ["-a", appendOnly]);
    }
    assert.deepEqual(readdirSync(join(dataDir, "jobs")).filter((name) => name.endsWith(".stdin")), [], "no stdin FIFO left");
  });
});
