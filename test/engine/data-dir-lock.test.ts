import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import Database from "better-sqlite3";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { DataDirLockedError, JobPool, LOCK_FILE } from "../../src/engine/index.js";
import { LOCK_DB } from "../../src/engine/data-dir-lock.js";
import { tempDir } from "../helpers/temp-dir.js";

const LOCK_MODULE = resolve(fileURLToPath(new URL("../../dist/engine/data-dir-lock.js", import.meta.url)));

describe("JobPool.open: one pool per data directory", () => {
  const dir = tempDir();
  after(dir.remove);

  it("refuses a second pool on the same directory, naming the owner's pid; the first keeps working", async () => {
    const first = await JobPool.open({ dataDir: dir.path, cgroups: false });
    try {
      const lockFile = join(dir.path, LOCK_FILE);
      assert.equal(readFileSync(lockFile, "utf8"), `${process.pid}\n`);
      assert.equal(statSync(lockFile).mode & 0o777, 0o600);
      await assert.rejects(JobPool.open({ dataDir: dir.path, cgroups: false }), (err: unknown) => {
        assert.ok(err instanceof DataDirLockedError);
        assert.equal(err.code, "DATA_DIR_LOCKED");
        assert.equal(err.ownerPid, process.pid);
        assert.match(err.message, new RegExp(`pid ${process.pid}\\b.*${dir.path}`));
        return true;
      });
      // The refusal did not clobber the owner's pid.
      assert.equal(readFileSync(lockFile, "utf8"), `${process.pid}\n`);
      const id = first.create({ cmd: "true" });
      assert.equal((await first.wait(id)).exitCode, 0);
    } finally {
      await first.close();
    }
    // Closing gives the directory up.
    const again = await JobPool.open({ dataDir: dir.path, cgroups: false });
    await again.close();
  });

  it("a lock left by a process killed with SIGKILL does not block the next open, though its child lives on", async () => {
    // The holder leaves a child behind, as a crashed server leaves a job: the lock is the holder's alone.
    const holder = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { spawn } from "node:child_process"; import { lockDataDir } from ${JSON.stringify(LOCK_MODULE)}; lockDataDir(${JSON.stringify(dir.path)}); const child = spawn("sleep", ["60"], { stdio: "inherit", detached: true }); console.log(child.pid); setInterval(() => {}, 1e6);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const childPid = Number((await once(holder.stdout!, "data"))[0]);
    try {
      await assert.rejects(JobPool.open({ dataDir: dir.path, cgroups: false }), (err: unknown) => err instanceof DataDirLockedError && err.ownerPid === holder.pid);
      holder.kill("SIGKILL");
      await once(holder, "exit");
      process.kill(childPid, 0); // still alive
      const pool = await JobPool.open({ dataDir: dir.path, cgroups: false });
      assert.equal(readFileSync(join(dir.path, LOCK_FILE), "utf8"), `${process.pid}\n`);
      await pool.close();
    } finally {
      process.kill(childPid, "SIGKILL");
    }
  });

  it("the lock is SQLite's, on a database of its own that nothing writes", async () => {
    const pool = await JobPool.open({ dataDir: dir.path, cgroups: false });
    try {
      const db = new Database(join(dir.path, LOCK_DB), { timeout: 0 });
      // Even reading it waits for the holder: the holder's exclusive lock is on the file.
      assert.throws(() => db.prepare("SELECT count(*) FROM sqlite_master").get(), (err: unknown) => (err as { code?: string }).code === "SQLITE_BUSY");
      db.close();
    } finally {
      await pool.close();
    }
    assert.deepEqual(readdirSync(dir.path).filter((name) => name.startsWith("jobworker.lock")).sort(), [LOCK_FILE, LOCK_DB]);
  });
});
