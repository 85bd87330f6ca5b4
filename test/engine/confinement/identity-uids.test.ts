// Each identity's uid: the lowest free one of the range at its first use, the same one
// forever after (across a reopen, even with another range), and a typed error once
// the range is used up.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { InvalidArgumentError, UidRangeExhaustedError } from "../../../src/engine/errors.js";
import { IdentityUids } from "../../../src/engine/confinement/identity-uids.js";
import { tempDir } from "../../helpers/temp-dir.js";

describe("IdentityUids", () => {
  const dir = tempDir();
  after(dir.remove);
  let n = 0;

  /** A database as the job store opens its own: WAL, synchronous=NORMAL. */
  function openDb(path: string): Database.Database {
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    return db;
  }
  const freshPath = () => join(dir.path, `uids-${n++}.db`);

  it("gives the lowest free uid at first use, and the same one after", () => {
    const db = openDb(freshPath());
    try {
      const uids = IdentityUids.open(db, { first: 5000, last: 5999 });
      assert.equal(uids.uidOf("alice"), 5000);
      assert.equal(uids.uidOf("bob"), 5001);
      assert.equal(uids.uidOf("alice"), 5000);
      assert.equal(uids.uidOf("CN with spaces, commas and ünïcödé 🙂"), 5002);
      assert.equal(uids.uidOf(""), 5003);
      assert.equal(uids.uidOf("x".repeat(400)), 5004);
      assert.deepEqual(uids.list(), [
        { identity: "alice", uid: 5000 },
        { identity: "bob", uid: 5001 },
        { identity: "CN with spaces, commas and ünïcödé 🙂", uid: 5002 },
        { identity: "", uid: 5003 },
        { identity: "x".repeat(400), uid: 5004 },
      ]);
      // Written at once, one row per identity.
      assert.deepEqual(db.prepare("SELECT identity, uid FROM identity_uids WHERE identity IN ('alice', 'bob') ORDER BY uid").all(), [
        { identity: "alice", uid: 5000 },
        { identity: "bob", uid: 5001 },
      ]);
    } finally {
      db.close();
    }
  });

  it("is durable: after a reopen with another range, known identities keep their uids; new ones get the new range's", () => {
    const path = freshPath();
    let db = openDb(path);
    let uids = IdentityUids.open(db, { first: 1000, last: 1999 });
    assert.equal(uids.uidOf("alice"), 1000);
    assert.equal(uids.uidOf("bob"), 1001);
    db.close();

    db = openDb(path);
    try {
      uids = IdentityUids.open(db, { first: 800000, last: 800009 });
      assert.equal(uids.uidOf("bob"), 1001);
      assert.equal(uids.uidOf("alice"), 1000);
      assert.equal(uids.uidOf("carol"), 800000);
      assert.deepEqual(uids.list(), [
        { identity: "alice", uid: 1000 },
        { identity: "bob", uid: 1001 },
        { identity: "carol", uid: 800000 },
      ]);
    } finally {
      db.close();
    }
  });

  it("never gives a uid twice when the new range overlaps the old", () => {
    const path = freshPath();
    let db = openDb(path);
    let uids = IdentityUids.open(db, { first: 100, last: 199 });
    assert.equal(uids.uidOf("alice"), 100);
    assert.equal(uids.uidOf("bob"), 101);
    assert.equal(uids.uidOf("carol"), 102);
    db.close();

    db = openDb(path);
    try {
      uids = IdentityUids.open(db, { first: 101, last: 110 });
      assert.equal(uids.uidOf("dave"), 103);
      assert.equal(uids.uidOf("erin"), 104);
      assert.equal(uids.uidOf("alice"), 100);
    } finally {
      db.close();
    }
  });

  it("throws UidRangeExhaustedError when the range is used up, and still answers known identities", () => {
    const db = openDb(freshPath());
    try {
      const uids = IdentityUids.open(db, { first: 7000, last: 7001 });
      assert.equal(uids.uidOf("alice"), 7000);
      assert.equal(uids.uidOf("bob"), 7001);
      for (let i = 0; i < 2; i++) {
        assert.throws(
          () => uids.uidOf("carol"),
          (err: unknown) => {
            assert.ok(err instanceof UidRangeExhaustedError);
            assert.equal(err.code, "UID_RANGE_EXHAUSTED");
            assert.equal(err.first, 7000);
            assert.equal(err.last, 7001);
            assert.match(err.message, /every uid of --uid-range 7000-7001 is taken/);
            return true;
          },
        );
      }
      assert.equal(uids.uidOf("alice"), 7000);
      assert.equal(uids.uidOf("bob"), 7001);
      assert.equal((db.prepare("SELECT count(*) AS n FROM identity_uids").get() as { n: number }).n, 2);
    } finally {
      db.close();
    }
  });

  it("a range exhausted by identities mapped before a restart refuses new ones", () => {
    const path = freshPath();
    let db = openDb(path);
    IdentityUids.open(db, { first: 300, last: 300 }).uidOf("alice");
    db.close();
    db = openDb(path);
    try {
      const uids = IdentityUids.open(db, { first: 300, last: 300 });
      assert.throws(() => uids.uidOf("bob"), UidRangeExhaustedError);
      assert.equal(uids.uidOf("alice"), 300);
    } finally {
      db.close();
    }
  });

  it("two instances on one database never give one uid to two identities", () => {
    const db = openDb(freshPath());
    try {
      const range = { first: 9000, last: 9009 };
      const a = IdentityUids.open(db, range);
      const b = IdentityUids.open(db, range);
      assert.equal(a.uidOf("alice"), 9000);
      // b has not seen alice's row: its insert of 9000 fails, and it takes the next.
      assert.equal(b.uidOf("bob"), 9001);
      // And an identity the other gave first is answered with its uid.
      assert.equal(a.uidOf("bob"), 9001);
      assert.equal(b.uidOf("alice"), 9000);
    } finally {
      db.close();
    }
  });

  it("writes each new identity with synchronous=FULL and puts the connection's setting back", () => {
    const db = openDb(freshPath());
    try {
      const uids = IdentityUids.open(db, { first: 1, last: 10 });
      // A trigger records the connection's setting at the moment of each INSERT.
      db.exec("CREATE TABLE seen (synchronous INTEGER)");
      db.exec("CREATE TRIGGER watch AFTER INSERT ON identity_uids BEGIN INSERT INTO seen SELECT synchronous FROM pragma_synchronous; END");
      uids.uidOf("alice");
      uids.uidOf("alice");
      uids.uidOf("bob");
      assert.deepEqual(db.prepare("SELECT synchronous FROM seen").all(), [{ synchronous: 2 }, { synchronous: 2 }]); // FULL, once per new identity
      assert.equal(db.pragma("synchronous", { simple: true }), 1); // NORMAL again
      // Inside the caller's transaction, its COMMIT decides: the setting is not touched.
      db.transaction(() => uids.uidOf("carol"))();
      assert.deepEqual(db.prepare("SELECT synchronous FROM seen").all(), [{ synchronous: 2 }, { synchronous: 2 }, { synchronous: 1 }]);
      assert.equal(uids.uidOf("carol"), 3);
    } finally {
      db.close();
    }
  });

  it("refuses an identity that is not well-formed Unicode (it would be stored as another)", () => {
    const db = openDb(freshPath());
    try {
      const uids = IdentityUids.open(db, { first: 1, last: 10 });
      assert.throws(() => uids.uidOf("a\uD800"), InvalidArgumentError);
      assert.throws(() => uids.uidOf("a\uDC00b"), InvalidArgumentError);
      assert.deepEqual(uids.list(), []);
    } finally {
      db.close();
    }
  });

  it("makes the table on a database that has others, and keeps it when it exists", () => {
    const path = freshPath();
    let db = openDb(path);
    db.exec("CREATE TABLE jobs (id TEXT)");
    IdentityUids.open(db, { first: 42, last: 50 }).uidOf("alice");
    db.close();
    db = openDb(path);
    try {
      const columns = db.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info('identity_uids')").all();
      assert.deepEqual(columns, [
        { name: "identity", type: "TEXT", notnull: 0, pk: 1 },
        { name: "uid", type: "INTEGER", notnull: 1, pk: 0 },
      ]);
      assert.equal(IdentityUids.open(db, { first: 42, last: 50 }).uidOf("alice"), 42);
      assert.throws(() => db.prepare("INSERT INTO identity_uids VALUES ('zed', 42)").run(), /UNIQUE constraint failed/);
    } finally {
      db.close();
    }
  });
});
