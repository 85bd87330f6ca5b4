// The store's schema versions (PRAGMA user_version): a database made before them opens
// with every record, a new one and a migrated one end with the same schema, and one
// newer than this code is refused untouched.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { JobPool, StoreTooNewError } from "../../src/index.js";
import { JobStore, type StoredJob } from "../../src/engine/job-store.js";
import { SCHEMA_VERSION } from "../../src/engine/store/migrations.js";
import { tempDir } from "../helpers/temp-dir.js";

const dir = tempDir();
after(() => dir.remove());
let counter = 0;
function freshDataDir(): string {
  const path = join(dir.path, `data-${++counter}`);
  mkdirSync(path);
  return path;
}

/** The table as the first release made it, before any column was added. */
const FIRST_RELEASE_SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT NOT NULL UNIQUE,
  owner        TEXT NOT NULL,
  cmd          TEXT NOT NULL,
  args         TEXT NOT NULL,
  cwd          TEXT NOT NULL,
  env_names    TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  ended_at     INTEGER,
  state        TEXT NOT NULL,
  exit_code    INTEGER,
  signal       TEXT,
  error_msg    TEXT,
  pid          INTEGER,
  pid_start    TEXT,
  boot_id      TEXT,
  stdout_bytes INTEGER NOT NULL DEFAULT 0,
  stderr_bytes INTEGER NOT NULL DEFAULT 0,
  truncated    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, seq);
CREATE INDEX IF NOT EXISTS jobs_running ON jobs (state) WHERE state = 'running';
`;

/** The columns later releases added at open, in their order, as they added them. */
const ADDED_COLUMNS: [name: string, definition: string][] = [
  ["limits", "TEXT"],
  ["oom_killed", "INTEGER NOT NULL DEFAULT 0"],
  ["isolation", "TEXT"],
  ["error_code", "TEXT"],
  ["timed_out", "INTEGER NOT NULL DEFAULT 0"],
  ["deadline_at", "INTEGER"],
  ["labels", "TEXT"],
];

/**
 * A jobs.db as the code before schema versions left it: the first release's table with
 * the first `added` columns of ADDED_COLUMNS, each by ALTER TABLE, and no user_version.
 */
function legacyDatabase(dataDir: string, added: number, rows: Record<string, string | number | null>[]): void {
  const db = new Database(join(dataDir, "jobs.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.exec(FIRST_RELEASE_SCHEMA);
    for (const [name, definition] of ADDED_COLUMNS.slice(0, added)) db.exec(`ALTER TABLE jobs ADD COLUMN ${name} ${definition}`);
    for (const row of rows) {
      const names = Object.keys(row);
      db.prepare(`INSERT INTO jobs (${names.join(", ")}) VALUES (${names.map((n) => `@${n}`).join(", ")})`).run(row);
    }
    assert.equal(db.pragma("user_version", { simple: true }), 0);
  } finally {
    db.close();
  }
}

function userVersion(dataDir: string): number {
  const db = new Database(join(dataDir, "jobs.db"), { readonly: true });
  try {
    return db.pragma("user_version", { simple: true }) as number;
  } finally {
    db.close();
  }
}

/** What a database's jobs table is: its columns and indexes, by name. */
function schemaOf(dataDir: string): unknown {
  const db = new Database(join(dataDir, "jobs.db"), { readonly: true });
  try {
    return {
      columns: db.prepare(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info('jobs') ORDER BY name`).all(),
      indexes: db.prepare("SELECT l.name, l.\"unique\", l.partial, m.sql FROM pragma_index_list('jobs') l LEFT JOIN sqlite_master m ON m.name = l.name ORDER BY l.name").all(),
    };
  } finally {
    db.close();
  }
}

const base = { owner: "alice", cmd: "make", args: '["test","-j2"]', cwd: "/srv", env_names: '["CI"]' };

describe("job store schema versions", () => {
  it("opens a database made before schema versions with every record, and sets user_version", async () => {
    const dataDir = freshDataDir();
    legacyDatabase(dataDir, ADDED_COLUMNS.length, [
      { ...base, id: "done", created_at: 1000, ended_at: 2000, state: "completed", exit_code: 0, pid: 41, pid_start: "7", boot_id: "b1", stdout_bytes: 12, stderr_bytes: 3, truncated: 1, limits: '{"pids":50}', isolation: '{"namespaces":["pid","mnt"],"network":"none"}', labels: '{"team":"build"}' },
      { ...base, id: "failed", created_at: 1001, ended_at: 3000, state: "error", signal: "SIGTERM", error_msg: "stopped at its deadline", error_code: "INTERRUPTED", timed_out: 1, oom_killed: 1, deadline_at: 2500 },
      { ...base, id: "live", owner: "bob", created_at: 1002, state: "running", pid: 42, pid_start: "8", boot_id: "b1" },
    ]);
    const common = { owner: "alice", cmd: "make", args: ["test", "-j2"], cwd: "/srv", envNames: ["CI"] };
    const done: StoredJob = { ...common, id: "done", createdAt: 1000, endedAt: 2000, state: "completed", exitCode: 0, pidStart: "7", bootId: "b1", stdoutBytes: 12, stderrBytes: 3, truncated: true, limits: { pids: 50 }, isolation: { namespaces: ["pid", "mnt"], network: "none" }, labels: { team: "build" } };
    const failed: StoredJob = { ...common, id: "failed", createdAt: 1001, endedAt: 3000, state: "error", signal: "SIGTERM", errorMsg: "stopped at its deadline", errorCode: "INTERRUPTED", timedOut: true, oomKilled: true, deadlineAt: 2500, stdoutBytes: 0, stderrBytes: 0 };
    const live: StoredJob = { ...common, owner: "bob", id: "live", createdAt: 1002, state: "running", pid: 42, pidStart: "8", bootId: "b1", stdoutBytes: 0, stderrBytes: 0 };

    let store = new JobStore(dataDir);
    try {
      assert.equal(userVersion(dataDir), SCHEMA_VERSION);
      assert.deepEqual(store.get("done"), done);
      assert.deepEqual(store.get("failed"), failed);
      assert.deepEqual(store.get("live"), live);
      assert.deepEqual(store.running(), [live]);
      assert.deepEqual(store.countByState(), { queued: 0, running: 1, completed: 1, error: 1 });
      assert.deepEqual(store.page({ labels: { team: "build" }, limit: 10 }).jobs, [done]);
      assert.deepEqual(store.page({ owner: "alice", limit: 10 }).jobs.map((j) => j.id), ["failed", "done"]);
      // And it keeps working: a new record, the old running one's end.
      store.insert({ ...common, id: "new", createdAt: 4000, state: "running", stdoutBytes: 0, stderrBytes: 0, labels: { team: "ops" } });
      store.finish({ ...live, state: "completed", exitCode: 0, endedAt: 5000, stdoutBytes: 9 });
    } finally {
      await store.close();
    }

    store = new JobStore(dataDir);
    try {
      assert.equal(userVersion(dataDir), SCHEMA_VERSION);
      assert.deepEqual(store.page({ limit: 10 }).jobs.map((j) => j.id), ["new", "live", "failed", "done"]);
      const { pid: _pid, ...ended } = live;
      assert.deepEqual(store.get("live"), { ...ended, state: "completed", exitCode: 0, endedAt: 5000, stdoutBytes: 9 });
      assert.deepEqual(store.get("new")?.labels, { team: "ops" });
      assert.deepEqual(store.get("done"), done);
    } finally {
      await store.close();
    }
  });

  it("adds the columns an older release lacked, to the schema a new database has", async () => {
    const older = freshDataDir();
    // Before isolation and everything after it.
    legacyDatabase(older, 2, [{ ...base, id: "old", created_at: 1000, ended_at: 2000, state: "completed", exit_code: 3, limits: '{"memoryBytes":1048576}' }]);
    const store = new JobStore(older);
    try {
      assert.deepEqual(store.get("old"), { owner: "alice", cmd: "make", args: ["test", "-j2"], cwd: "/srv", envNames: ["CI"], id: "old", createdAt: 1000, endedAt: 2000, state: "completed", exitCode: 3, stdoutBytes: 0, stderrBytes: 0, limits: { memoryBytes: 1048576 } });
      store.insert({ owner: "alice", cmd: "true", args: [], cwd: "/", envNames: [], id: "labelled", createdAt: 3000, state: "error", errorMsg: "x", errorCode: "COMMAND_NOT_FOUND", endedAt: 3000, stdoutBytes: 0, stderrBytes: 0, labels: { a: "b" } });
      assert.deepEqual(store.page({ labels: { a: "b" }, limit: 10 }).jobs.map((j) => j.id), ["labelled"]);
    } finally {
      await store.close();
    }

    const fresh = freshDataDir();
    await new JobStore(fresh).close();
    assert.equal(userVersion(fresh), SCHEMA_VERSION);
    assert.equal(userVersion(older), SCHEMA_VERSION);
    // Column order aside (ALTER TABLE appends), a migrated database is a new one.
    assert.deepEqual(schemaOf(older), schemaOf(fresh));
  });

  it("refuses a database newer than it knows, with a typed error, and leaves it as it was", async () => {
    const dataDir = freshDataDir();
    const store = new JobStore(dataDir);
    store.insert({ owner: "alice", cmd: "true", args: [], cwd: "/", envNames: [], id: "kept", createdAt: 1000, state: "running", stdoutBytes: 0, stderrBytes: 0 });
    await store.close();
    // As a newer jobworker would leave it: a later version, and a column this code does not know.
    let db = new Database(join(dataDir, "jobs.db"));
    db.exec(`ALTER TABLE jobs ADD COLUMN from_the_future TEXT; PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = schemaOf(dataDir);

    const isTooNew = (err: unknown) => {
      assert.ok(err instanceof StoreTooNewError);
      assert.equal(err.code, "STORE_TOO_NEW");
      assert.equal(err.version, SCHEMA_VERSION + 1);
      assert.equal(err.known, SCHEMA_VERSION);
      assert.equal(err.message, `the job store ${join(dataDir, "jobs.db")} has schema version ${SCHEMA_VERSION + 1}, newer than this jobworker knows (${SCHEMA_VERSION}): a newer jobworker wrote it`);
      return true;
    };
    assert.throws(() => new JobStore(dataDir), isTooNew);
    // Through the pool too, which then lets the directory go: not downgraded, not recovered.
    await assert.rejects(JobPool.open({ dataDir, cgroups: false, isolation: false }), isTooNew);
    assert.equal(userVersion(dataDir), SCHEMA_VERSION + 1);
    assert.deepEqual(schemaOf(dataDir), before);
    db = new Database(join(dataDir, "jobs.db"), { readonly: true });
    try {
      assert.deepEqual(db.prepare("SELECT id, state FROM jobs").all(), [{ id: "kept", state: "running" }]);
    } finally {
      db.close();
    }
  });
});
