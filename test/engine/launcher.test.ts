// The start path (docs/design.md, "The start path"): jobs are forked by the launcher, a
// separate small process, not by the server's thread. Real processes; the launcher is
// killed for real to check that its jobs end and the next ones still start.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { JobPool } from "../../src/index.js";
import { LAUNCHER_PROGRAM } from "../../src/engine/start/launcher.js";
import { until } from "../../src/engine/back-off.js";
import { isAlive, processesWhere } from "../helpers/processes.js";
import { readUntil } from "../helpers/streams.js";
import { tempDir } from "../helpers/temp-dir.js";

/** Field `n` (1-based, as in proc(5)) of /proc/<pid>/stat. */
function statField(pid: number, n: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[n - 3]!;
}

/** This process's children that run the launcher. */
function launchers(): number[] {
  return processesWhere((pid) => Number(statField(pid, 4)) === process.pid && readFileSync(`/proc/${pid}/comm`, "latin1").trim() === "jobworker-launc");
}

/** Live processes of the session `sid`: a launcher's own, its nursery, spares and jobs. */
function sessionMembers(sid: number): number[] {
  return processesWhere((pid) => Number(statField(pid, 6)) === sid && isAlive(pid));
}

describe("the launcher", () => {
  const dir = tempDir();
  after(() => dir.remove());

  it("forks every job: the job's parent is the launcher, never this process, and no FIFO is left behind", async () => {
    const pool = await JobPool.open({ dataDir: join(dir.path, "forks"), isolation: false });
    try {
      assert.equal(pool.startPath().launcher, true, pool.startPath().summary);
      const [launcher] = launchers();
      assert.ok(launcher, "a launcher runs as this process's child");
      const id = await pool.start({ cmd: "sleep", args: ["30"] });
      const pid = pool.get(id).pid!;
      assert.equal(Number(statField(pid, 4)), launcher, "the job's parent is the launcher");
      assert.equal(Number(statField(pid, 5)), pid, "the job leads its own process group");
      assert.deepEqual(readdirSync(join(dir.path, "forks")).filter((name) => name.startsWith("launcher")), []);
      await pool.stop(id);
      assert.deepEqual(pool.status(id), { state: "completed", exitCode: 143, signal: "SIGTERM" });
    } finally {
      await pool.close();
    }
    assert.deepEqual(launchers(), [], "close ends the launcher");
  });

  it("answers a start at once: the pid is known, the output files exist, and a failure is recorded", async () => {
    const pool = await JobPool.open({ dataDir: join(dir.path, "sync"), isolation: false });
    try {
      const id = await pool.start({ cmd: "sh", args: ["-c", "echo out; echo err >&2"] });
      assert.equal(typeof pool.get(id).pid, "number");
      const follower = pool.stream(id, "stdout", { follow: true });
      assert.equal((await readUntil(follower, (s) => s.includes("out\n"))).toString(), "out\n");
      assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
      assert.equal((await pool.output(id)).stderr.toString(), "err\n");
      const cwd = pool.create({ cmd: "true", cwd: "/nonexistent-dir" });
      assert.equal(pool.status(cwd).state, "error");
      assert.equal(pool.status(cwd).errorCode, "CWD_NOT_FOUND");
    } finally {
      await pool.close();
    }
  });

  it("start() answers without holding the thread: the job runs once it resolves, and counts as running while it starts", async () => {
    const pool = await JobPool.open({ dataDir: join(dir.path, "async"), isolation: false });
    try {
      const starting = [pool.start({ cmd: "sh", args: ["-c", "echo one"], owner: "a" }), pool.start({ cmd: "sleep", args: ["30"], owner: "a" })];
      // Both were checked and counted in the same step as the call: a per-owner limit holds.
      assert.equal(pool.runningCount("a"), 2);
      assert.equal(pool.runningCount("b"), 0);
      const [one, sleeper] = await Promise.all(starting);
      assert.equal(Number(statField(pool.get(sleeper!).pid!, 4)), launchers()[0], "the launcher forked it");
      assert.deepEqual(await pool.wait(one!), { state: "completed", exitCode: 0 });
      assert.equal((await pool.output(one!)).stdout.toString(), "one\n");
      const missing = await pool.start({ cmd: "no-such-command-here" });
      assert.equal(pool.status(missing).errorCode, "COMMAND_NOT_FOUND");
      await pool.stop(sleeper!);
      assert.equal(pool.runningCount("a"), 0);
    } finally {
      await pool.close();
    }
  });

  it("when the launcher dies, its running jobs end INTERRUPTED and are killed, and later jobs still start", async () => {
    const pool = await JobPool.open({ dataDir: join(dir.path, "dies"), isolation: false });
    try {
      const id = pool.create({ cmd: "sh", args: ["-c", "sleep 1000 & echo $!; wait"] });
      const grandchild = Number((await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.includes("\n"))).toString());
      const [launcher] = launchers();
      process.kill(launcher!, "SIGKILL");
      const status = await pool.wait(id);
      assert.equal(status.state, "error");
      assert.equal(status.errorCode, "INTERRUPTED");
      assert.match(status.errorMsg!, /launcher ended unexpectedly/);
      assert.ok(await until(() => !isAlive(grandchild), 5000), "the job's grandchild was killed");
      // The next job starts (from this thread while a new launcher comes up, then through it).
      const next = pool.create({ cmd: "echo", args: ["again"] });
      assert.deepEqual(await pool.wait(next), { state: "completed", exitCode: 0 });
      assert.equal((await pool.output(next)).stdout.toString(), "again\n");
      assert.ok(await until(() => pool.startPath().launcher, 5000), "a new launcher took over");
      // A job that outlives the check: a finished one's /proc entry may be gone already.
      const third = await pool.start({ cmd: "sleep", args: ["30"] });
      assert.equal(Number(statField(pool.get(third).pid!, 4)), launchers()[0]);
      await pool.stop(third);
    } finally {
      await pool.close();
    }
  });

  it("close leaves nothing of the pool running, spares on their way from the nursery included", { timeout: 90_000 }, async () => {
    // Each start asks the nursery for more spares; closing at once catches some of them
    // between the nursery and the launcher (a launcher once waited for those for ever).
    for (let round = 0; round < 12; round++) {
      const pool = await JobPool.open({ dataDir: join(dir.path, `close-${round}`), ...(round % 2 === 0 && { isolation: false }) });
      const [launcher] = launchers();
      assert.ok(launcher, "a launcher runs");
      pool.create({ cmd: "true" });
      pool.create({ cmd: "sleep", args: ["1000"] });
      await pool.close();
      assert.deepEqual(launchers(), [], `round ${round}: close ends the launcher`);
      assert.deepEqual(sessionMembers(launcher!), [], `round ${round}: nothing of the launcher's session runs`);
    }
  });

  it("a launcher whose parent dies before it said hello exits, never blocking", async () => {
    // Its parent (a shell standing in for a server) names itself and exits; the launcher is
    // told by PR_SET_PDEATHSIG, although no engine ever read from it.
    // Its stdin is a pipe this test holds open (fd 3), never /dev/null: an EOF there would
    // end it first, and the test would race it to read its /proc entry.
    const shell = spawn("sh", ["-c", `"$0" $$ >/dev/null <&3 3<&- & echo $!; exec 3<&-; read line`, LAUNCHER_PROGRAM], {
      stdio: ["pipe", "pipe", "inherit", "pipe"],
    });
    try {
      const pid = Number((await readUntil(shell.stdout!, (s) => s.includes("\n"))).toString());
      assert.equal(Number(statField(pid, 4)), shell.pid, "the shell is the launcher's parent");
      shell.stdin!.end(); // the shell's `read` ends: the shell exits
      assert.ok(await until(() => !isAlive(pid), 5000), "the launcher exits when its parent dies");
    } finally {
      shell.kill("SIGKILL");
      (shell.stdio[3] as NodeJS.WritableStream & { destroy(): void }).destroy();
    }
  });
});
