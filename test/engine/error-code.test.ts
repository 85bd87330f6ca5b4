// A failed start's machine-readable reason (error_code): kept by the store across a
// restart, and an older database without the column still opens and reads.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { JobPool } from "../../src/index.js";
import { tempDir } from "../helpers/temp-dir.js";
import { AFTER_SCHEMA_VERSIONS } from "../helpers/legacy-store.js";

describe("error_code in the store", () => {
  const dir = tempDir();
  after(() => dir.remove());

  it("persists across a restart, and upgrades a database from before the column", async () => {
    const dataDir = join(dir.path, "data");
    const options = { dataDir, cgroups: false as const, isolation: false as const };
    let pool = await JobPool.open(options);
    const old = pool.create({ cmd: "no-such-command-jobworker-a" });
    assert.equal(pool.status(old).errorCode, "COMMAND_NOT_FOUND");
    await pool.close();

    // A data directory from before error_code: the column is not there, and (older than
    // schema versions too) no user_version is set.
    const db = new Database(join(dataDir, "jobs.db"));
    db.exec(`ALTER TABLE jobs DROP COLUMN error_code; ${AFTER_SCHEMA_VERSIONS}; PRAGMA user_version = 0`);
    db.close();

    pool = await JobPool.open(options);
    assert.deepEqual(pool.status(old), { state: "error", errorMsg: "command not found: no-such-command-jobworker-a" });
    const fresh = pool.create({ cmd: "true", cwd: "/no/such/dir/jobworker" });
    await pool.close();

    pool = await JobPool.open(options);
    try {
      assert.deepEqual(pool.status(fresh), { state: "error", errorMsg: "working directory not found: /no/such/dir/jobworker", errorCode: "CWD_NOT_FOUND" });
      assert.equal(pool.get(fresh).errorCode, "CWD_NOT_FOUND");
    } finally {
      await pool.close();
    }
  });
});
