// The pool's queue (PoolOptions.queue): beyond an identity's slots (or the pool's), jobs
// wait in state "queued" and start in submission order, identities taking turns; a bound
// on the wait; cancellation; timeouts from the start; stdin written before the start; and
// the queue kept across a close and a reopen. Real processes: each job notes its start and
// end in a shared log and runs until its stdin ends, so the test decides when slots free
// and reads from the log what really ran at once.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { JobNotRunningError, JobPool, TooManyJobsError, type PoolOptions } from "../../src/index.js";
import { collect, readUntil } from "../helpers/streams.js";
import { tempDir } from "../helpers/temp-dir.js";

const dir = tempDir();
after(() => dir.remove());
let count = 0;
let pools: JobPool[] = [];
afterEach(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
  pools = [];
});

async function openPool(queue: PoolOptions["queue"], dataDir = join(dir.path, `data-${++count}`)): Promise<JobPool> {
  const pool = await JobPool.open({ dataDir, isolation: false, stopGraceMs: 500, queue });
  pools.push(pool);
  return pool;
}

/**
 * A log of starts and ends that the jobs append to, one line each: in a directory anyone
 * may write, since on a root server each identity's jobs run as a uid of their own.
 */
function jobLog(): { path: string; lines(): string[] } {
  const logs = join(dir.path, "logs");
  mkdirSync(logs, { recursive: true });
  chmodSync(dir.path, 0o755);
  // Not sticky: the kernel's protected_regular refuses O_CREAT of another uid's file there.
  chmodSync(logs, 0o777);
  const path = join(logs, `log-${++count}`);
  writeFileSync(path, "");
  chmodSync(path, 0o666);
  return {
    path,
    lines: () => {
      try {
        return readFileSync(path, "utf8").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
  };
}

/** A job that notes "start NAME", runs until its stdin ends, then notes "end NAME". */
function held(pool: JobPool, log: string, name: string, owner = "alice", extra: { timeoutMs?: number } = {}): string {
  return pool.create({ cmd: "sh", args: ["-c", `echo "start ${name}" >> ${log}; echo up; cat >/dev/null; echo "end ${name}" >> ${log}`], owner, stdin: true, ...extra });
}

function release(pool: JobPool, id: string): void {
  pool.openStdin(id).end();
}

/** The most jobs the log shows running at once. */
function peakConcurrency(lines: string[]): number {
  let now = 0;
  let peak = 0;
  for (const line of lines) {
    now += line.startsWith("start ") ? 1 : -1;
    peak = Math.max(peak, now);
  }
  return peak;
}

describe("the pool's queue", () => {
  it("holds an identity's jobs past its slots, starts them in order as slots free, and refuses past its bound", async () => {
    const pool = await openPool({ maxRunningPerOwner: 2, maxQueuedPerOwner: 3 });
    const log = jobLog();
    const ids = ["1", "2", "3", "4", "5"].map((name) => held(pool, log.path, name));
    assert.deepEqual(
      ids.map((id) => pool.status(id)),
      [{ state: "running" }, { state: "running" }, { state: "queued", queuePosition: 1 }, { state: "queued", queuePosition: 2 }, { state: "queued", queuePosition: 3 }],
    );
    assert.equal(pool.runningCount("alice"), 2);
    assert.deepEqual(pool.queuedByOwner(), new Map([["alice", 3]]));
    assert.equal(pool.countByState().queued, 3);
    // Past the bound: refused, and nothing was recorded.
    const before = pool.list().length;
    assert.throws(() => held(pool, log.path, "6"), (err: Error) => err instanceof TooManyJobsError && /at most 2 at once, with 3 more queued/.test(err.message));
    assert.equal(pool.list().length, before);
    // A queued job has no start and no pid; the list shows it queued, and filters by it.
    const queued = pool.get(ids[2]!);
    assert.equal(queued.startedAt, undefined);
    assert.equal(queued.pid, undefined);
    assert.deepEqual(pool.list({ state: "queued" }).map((job) => job.id).sort(), ids.slice(2).sort());

    // Each slot that frees goes to the next in order.
    release(pool, ids[0]!);
    await pool.wait(ids[0]!);
    assert.deepEqual([ids[2], ids[3], ids[4]].map((id) => pool.status(id!)), [{ state: "running" }, { state: "queued", queuePosition: 1 }, { state: "queued", queuePosition: 2 }]);
    release(pool, ids[1]!);
    await pool.wait(ids[1]!);
    assert.deepEqual([ids[3], ids[4]].map((id) => pool.status(id!)), [{ state: "running" }, { state: "queued", queuePosition: 1 }]);
    for (const id of ids.slice(2)) release(pool, id);
    for (const id of ids) assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
    const starts = log.lines().filter((line) => line.startsWith("start "));
    assert.deepEqual(starts.sort(), ["start 1", "start 2", "start 3", "start 4", "start 5"]);
    assert.ok(peakConcurrency(log.lines()) <= 2, log.lines().join("\n"));
    for (const id of ids) assert.ok(pool.get(id).startedAt! >= pool.get(id).createdAt);
    assert.equal(pool.countByState().queued, 0);
  });

  it("starts the next job only when a slot frees: the log shows two at most, the third after an end", async () => {
    const pool = await openPool({ maxRunningPerOwner: 2 });
    const log = jobLog();
    const [a, b, c] = ["a", "b", "c"].map((name) => held(pool, log.path, name));
    release(pool, a!);
    await pool.wait(a!);
    // The end of a freed its slot before anyone could see it ended: c has left the queue.
    assert.equal(pool.status(c!).state, "running");
    release(pool, b!);
    release(pool, c!);
    await Promise.all([pool.wait(b!), pool.wait(c!)]);
    const lines = log.lines();
    assert.ok(lines.indexOf("start c") > lines.indexOf("end a"), lines.join("\n"));
    assert.ok(peakConcurrency(lines) <= 2, lines.join("\n"));
  });

  it("cancels a queued job on stop and delete: it never runs, has no start, and says why", async () => {
    const pool = await openPool({ maxRunningPerOwner: 1 });
    const log = jobLog();
    const blocker = held(pool, log.path, "blocker");
    const stopped = held(pool, log.path, "stopped");
    const deleted = held(pool, log.path, "deleted");
    const waiting = pool.wait(stopped);
    await assert.rejects(pool.signal(stopped, "SIGTERM"), (err: Error) => err instanceof JobNotRunningError && /queued/.test(err.message));
    await pool.stop(stopped);
    assert.deepEqual(await waiting, { state: "error", errorCode: "CANCELLED", errorMsg: "cancelled while queued: it never ran" });
    const record = pool.get(stopped);
    assert.equal(record.startedAt, undefined);
    assert.ok(record.endedAt !== undefined);
    await pool.delete(deleted);
    assert.throws(() => pool.get(deleted), /not found/);
    release(pool, blocker);
    await pool.wait(blocker);
    assert.deepEqual(log.lines(), ["start blocker", "end blocker"], "neither cancelled job ran");
    assert.deepEqual(pool.countByState(), { queued: 0, running: 0, completed: 1, error: 1 });
  });

  it("counts a queued job's timeout from its start, not from its submission", async () => {
    const pool = await openPool({ maxRunningPerOwner: 1 });
    const log = jobLog();
    const blocker = held(pool, log.path, "blocker");
    const timed = held(pool, log.path, "timed", "alice", { timeoutMs: 60_000 });
    assert.equal(pool.get(timed).deadlineAt, undefined, "no deadline while it waits");
    const released = Date.now();
    release(pool, blocker);
    await pool.wait(blocker);
    const { deadlineAt, startedAt } = pool.get(timed);
    assert.ok(deadlineAt! >= released + 60_000, `deadline ${deadlineAt} from a start after ${released}`);
    assert.ok(startedAt === undefined || deadlineAt! <= startedAt + 60_000);
    release(pool, timed);
    await pool.wait(timed);
  });

  it("takes stdin written before the job starts, and feeds it once it runs", async () => {
    const pool = await openPool({ maxRunningPerOwner: 1 });
    const log = jobLog();
    const blocker = held(pool, log.path, "blocker");
    const reader = pool.create({ cmd: "sh", args: ["-c", "read line; echo \"got $line\""], owner: "alice", stdin: true });
    assert.equal(pool.status(reader).state, "queued");
    pool.openStdin(reader).end("hello\n");
    release(pool, blocker);
    assert.deepEqual(await pool.wait(reader), { state: "completed", exitCode: 0 });
    assert.equal((await pool.output(reader)).stdout.toString(), "got hello\n");
  });

  it("under maxRunning, lets identities take turns: bob's one job is not starved by alice's many", async () => {
    const pool = await openPool({ maxRunning: 1, maxRunningPerOwner: 10 });
    const log = jobLog();
    const alice = ["a1", "a2", "a3", "a4"].map((name) => held(pool, log.path, name, "alice"));
    const bob = held(pool, log.path, "b1", "bob");
    const carol = ["c1", "c2"].map((name) => held(pool, log.path, name, "carol"));
    assert.deepEqual(pool.queuedByOwner(), new Map([["alice", 3], ["bob", 1], ["carol", 2]]));
    // Each job ends as soon as it starts (its stdin already ended): the order is the queue's.
    for (const id of [...alice, bob, ...carol]) release(pool, id);
    await Promise.all([...alice, bob, ...carol].map((id) => pool.wait(id)));
    const starts = log.lines().filter((line) => line.startsWith("start ")).map((line) => line.slice(6));
    assert.deepEqual(starts, ["a1", "b1", "c1", "a2", "c2", "a3", "a4"]);
    assert.equal(peakConcurrency(log.lines()), 1);
  });

  it("keeps queued jobs across a close and a reopen, and starts them there in order", async () => {
    const dataDir = join(dir.path, `data-${++count}`);
    const log = jobLog();
    const first = await openPool({ maxRunningPerOwner: 1 }, dataDir);
    const blocker = held(first, log.path, "blocker");
    await readUntil(first.stream(blocker, "stdout", { follow: true }), (soFar) => soFar.toString() === "up\n");
    const later = ["x", "y"].map((name) => first.create({ cmd: "sh", args: ["-c", `echo "start ${name} $SECRET" >> ${log.path}`], owner: "alice", env: { SECRET: `s-${name}` } }));
    await first.close();
    pools = pools.filter((pool) => pool !== first);
    // The running one was stopped by the shutdown; the queued ones are still queued, on disk.
    const second = await openPool({ maxRunningPerOwner: 1 }, dataDir);
    assert.equal(second.get(blocker).errorCode, "SHUTDOWN");
    for (const id of later) assert.deepEqual(await second.wait(id), { state: "completed", exitCode: 0 });
    // Started after the reopen, with their env values (kept only while they waited), in order.
    assert.deepEqual(log.lines(), ["start blocker", "start x s-x", "start y s-y"]);
    for (const id of later) assert.ok(second.get(id).startedAt! > second.get(id).createdAt);
  });

  it("refuses bad queue options at open", async () => {
    for (const queue of [{ maxRunning: 0 }, { maxRunningPerOwner: 1.5 }, { maxQueuedPerOwner: -1 }]) {
      await assert.rejects(JobPool.open({ dataDir: join(dir.path, `bad-${++count}`), isolation: false, queue }), /queue\.\w+ must be an integer/);
    }
  });

  it("without a queue, every job starts at once and none is ever queued", async () => {
    const pool = await openPool(undefined);
    const ids = Array.from({ length: 20 }, () => pool.create({ cmd: "sh", args: ["-c", "echo ok"] }));
    for (const id of ids) assert.notEqual(pool.status(id).state, "queued");
    for (const id of ids) assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
    assert.equal((await collect(pool.stream(ids[0]!, "stdout"))).toString(), "ok\n");
  });
});
