import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { DataDirLockedError, JobPool, LOCK_FILE } from "../../src/engine/index.js";
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

  it("a lock left by a process killed with SIGKILL does not block the next open", async () => {
    const holder = spawn(
      process.execPath,
      ["--input-type=module", "-e", `import { lockDataDir } from ${JSON.stringify(LOCK_MODULE)}; lockDataDir(${JSON.stringify(dir.path)}); console.log("locked"); setInterval(() => {}, 1e6);`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await once(holder.stdout!, "data");
    await assert.rejects(JobPool.open({ dataDir: dir.path, cgroups: false }), (err: unknown) => err instanceof DataDirLockedError && err.ownerPid === holder.pid);
    holder.kill("SIGKILL");
    await once(holder, "exit");
    const pool = await JobPool.open({ dataDir: dir.path, cgroups: false });
    assert.equal(readFileSync(join(dir.path, LOCK_FILE), "utf8"), `${process.pid}\n`);
    await pool.close();
  });
});
