import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InvalidJobSpecError, JobNotFoundError, JobPool } from "../../src/index.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("JobPool lifecycle", () => {
  const dir = tempDir();
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), stopGraceMs: 1000 });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  async function run(cmd: string, args: string[] = [], extra: object = {}) {
    const id = pool.create({ cmd, args, ...extra });
    const status = await pool.wait(id);
    const { stdout, stderr } = await pool.output(id);
    return { id, status, stdout: stdout.toString(), stderr: stderr.toString() };
  }

  it("returns a random UUID at once and reports running until the process ends", async () => {
    const id = await pool.start({ cmd: "sleep", args: ["0.2"] });
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(pool.status(id), { state: "running" });
    assert.equal(typeof pool.get(id).pid, "number");
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
    assert.equal(pool.get(id).pid, undefined);
  });

  for (const code of [0, 1, 255]) {
    it(`reports exit code ${code}`, async () => {
      const { status } = await run("sh", ["-c", `exit ${code}`]);
      assert.deepEqual(status, { state: "completed", exitCode: code });
    });
  }

  it("keeps stdout and stderr apart", async () => {
    const { stdout, stderr } = await run("sh", ["-c", "echo out; echo err >&2"]);
    assert.equal(stdout, "out\n");
    assert.equal(stderr, "err\n");
  });

  it("reports a missing command as error at once, never as running", () => {
    const id = pool.create({ cmd: "jobworker-no-such-command" });
    assert.deepEqual(pool.status(id), { state: "error", errorMsg: "command not found: jobworker-no-such-command", errorCode: "COMMAND_NOT_FOUND" });
  });

  it("reports a missing path as command not found", () => {
    const id = pool.create({ cmd: "./no/such/file" });
    assert.deepEqual(pool.status(id), { state: "error", errorMsg: "command not found: ./no/such/file", errorCode: "COMMAND_NOT_FOUND" });
  });

  it("reports a file without execute permission as permission denied", async () => {
    const script = join(dir.path, "script.sh");
    writeFileSync(script, "#!/bin/sh\necho hi\n");
    chmodSync(script, 0o644);
    // Where anyone may look: a root server's jobs run as their own uid, and the server
    // tells what it sees only of paths any uid could see (see visibleToAnyone).
    chmodSync(dir.path, 0o755);
    const id = pool.create({ cmd: "./script.sh", cwd: dir.path });
    assert.deepEqual(pool.status(id), { state: "error", errorMsg: "permission denied: ./script.sh", errorCode: "PERMISSION_DENIED" });
    // A job that failed to start has empty output and is already over.
    assert.deepEqual(await pool.wait(id), pool.status(id));
    const { stdout, stderr } = await pool.output(id);
    assert.equal(stdout.length + stderr.length, 0);
  });

  it("reports a directory as permission denied", () => {
    const id = pool.create({ cmd: "/tmp" });
    assert.deepEqual(pool.status(id), { state: "error", errorMsg: "permission denied: /tmp", errorCode: "PERMISSION_DENIED" });
  });

  it("reports a missing working directory", () => {
    const id = pool.create({ cmd: "true", cwd: "/no/such/dir" });
    assert.deepEqual(pool.status(id), { state: "error", errorMsg: "working directory not found: /no/such/dir", errorCode: "CWD_NOT_FOUND" });
  });

  it("reports a job killed by a signal with its name and 128+n", async () => {
    const { status } = await run("sh", ["-c", "kill -KILL $$"]);
    assert.deepEqual(status, { state: "completed", exitCode: 137, signal: "SIGKILL" });
  });

  it("passes arguments verbatim, with no shell in between", async () => {
    const args = ["$HOME", ";", "*", "a b", "", "'q'", "--flag", "ü"];
    const { stdout } = await run("printf", ["%s\\n", ...args]);
    assert.equal(stdout, args.map((a) => `${a}\n`).join(""));
  });

  it("gives jobs a clean environment plus their own variables, not the server's", async () => {
    process.env.JOBWORKER_TEST_SECRET = "hunter2";
    try {
      const { id, stdout } = await run("env", [], { env: { GREETING: "hello" } });
      const env = Object.fromEntries(stdout.trim().split("\n").map((line) => line.split(/=(.*)/s).slice(0, 2)));
      assert.equal(env.GREETING, "hello");
      assert.equal(env.JOBWORKER_JOB_ID, id);
      assert.equal(env.PATH, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
      assert.equal(env.JOBWORKER_TEST_SECRET, undefined);
      assert.deepEqual(pool.get(id).envNames, ["GREETING"]);
    } finally {
      delete process.env.JOBWORKER_TEST_SECRET;
    }
  });

  it("runs in the requested working directory, by default the temp directory", async () => {
    // Outside /tmp: an isolated job's /tmp is its own (test/engine/isolation.test.ts).
    assert.equal((await run("pwd", [], { cwd: "/usr/bin" })).stdout, "/usr/bin\n");
    const { id } = await run("pwd");
    assert.equal(pool.get(id).cwd, "/tmp");
  });

  it("gives the job /dev/null as stdin", async () => {
    const { stdout } = await run("sh", ["-c", "cat; readlink /proc/self/fd/0"]);
    assert.equal(stdout, "/dev/null\n");
  });

  for (const [name, spec] of [
    ["an empty cmd", { cmd: "" }],
    ["a cmd that is not a string", { cmd: 42 }],
    ["a NUL byte in cmd", { cmd: "ls\0-la" }],
    ["a NUL byte in an argument", { cmd: "ls", args: ["a\0b"] }],
    ["a non-string argument", { cmd: "ls", args: ["-l", 3] }],
    ["args that are not an array", { cmd: "ls", args: "-la" }],
    ["a relative cwd", { cmd: "ls", cwd: "tmp" }],
    ["an invalid env name", { cmd: "ls", env: { "A=B": "c" } }],
    ["a non-string env value", { cmd: "ls", env: { A: 1 } }],
    ["no spec at all", undefined],
  ] as const) {
    it(`throws InvalidJobSpecError for ${name}, creating nothing`, () => {
      const before = pool.list().length;
      assert.throws(() => pool.create(spec as never), (err: unknown) => {
        assert.ok(err instanceof InvalidJobSpecError);
        assert.equal(err.code, "INVALID_JOB_SPEC");
        return true;
      });
      assert.equal(pool.list().length, before);
    });
  }

  it("throws JobNotFoundError for unknown ids on every operation", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    const isNotFound = (err: unknown) => err instanceof JobNotFoundError && err.code === "JOB_NOT_FOUND";
    assert.throws(() => pool.status(unknown), isNotFound);
    assert.throws(() => pool.get(unknown), isNotFound);
    assert.throws(() => pool.stream(unknown, "stdout"), isNotFound);
    await assert.rejects(pool.output(unknown), isNotFound);
    await assert.rejects(pool.stop(unknown), isNotFound);
    await assert.rejects(pool.delete(unknown), isNotFound);
    await assert.rejects(pool.wait(unknown), isNotFound);
  });

  it("lists jobs newest first, filtered by owner", async () => {
    const first = pool.create({ cmd: "true", owner: "lister" });
    const second = pool.create({ cmd: "true", owner: "lister" });
    pool.create({ cmd: "true", owner: "someone-else" });
    const ids = pool.list({ owner: "lister" }).map((job) => job.id);
    assert.deepEqual(ids, [second, first]);
    await Promise.all([pool.wait(first), pool.wait(second)]);
  });
});
