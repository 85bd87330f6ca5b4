import type Database from "better-sqlite3";
import { InvalidArgumentError, UidRangeExhaustedError } from "../errors.js";
import type { UidRange } from "./uid-range.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS identity_uids (
  identity TEXT PRIMARY KEY, -- the client's identity (its certificate's CN)
  uid      INTEGER NOT NULL UNIQUE -- also its gid
);
`;

/** One row of {@link IdentityUids.list}. */
export interface IdentityUid {
  identity: string;
  uid: number;
}

/** How often `uidOf` starts over after another connection took its uid or identity first. */
const INSERT_ATTEMPTS = 8;

/**
 * Each client identity's own uid (and gid: the same number), kept in SQLite so that an
 * identity has the same one forever: the files in its home, and anything else its jobs
 * left on the host, are owned by that number. An identity's first job takes the lowest
 * free uid of the range; every later call is answered from memory.
 *
 * A server restarted with another `--uid-range` keeps the uids it gave: an identity
 * mapped before keeps its uid even outside the new range (taking it back would give
 * its files to whoever gets the number next); only new identities get uids of the new
 * range, and never one an older identity holds.
 */
export class IdentityUids {
  private readonly byIdentity = new Map<string, number>();
  /** Every uid given, in or out of the range: never given twice. */
  private readonly taken = new Set<number>();
  /** No uid of the range below this one is free (uids are never given back). */
  private lowestFree: number;
  private readonly insert: Database.Statement<[string, number]>;
  private readonly selectAll: Database.Statement<[], IdentityUid>;

  private constructor(
    private readonly db: Database.Database,
    private readonly range: UidRange,
  ) {
    this.insert = db.prepare("INSERT INTO identity_uids (identity, uid) VALUES (?, ?)");
    this.selectAll = db.prepare("SELECT identity, uid FROM identity_uids ORDER BY uid");
    this.lowestFree = range.first;
    this.reload();
  }

  /** Creates the table if it is missing and reads the identities it holds. */
  static open(db: Database.Database, range: UidRange): IdentityUids {
    db.exec(SCHEMA);
    return new IdentityUids(db, range);
  }

  /**
   * The identity's uid (= gid), given it on its first call: one INSERT, then memory only.
   * Call it outside transactions that may roll back: the uid is remembered at once.
   */
  uidOf(identity: string): number {
    const known = this.byIdentity.get(identity);
    if (known !== undefined) return known;
    // SQLite stores text as UTF-8: two strings with different lone surrogates would both
    // become U+FFFD and be one identity. A name from a certificate is never so.
    if (/\p{Surrogate}/u.test(identity)) throw new InvalidArgumentError("the identity is not well-formed Unicode text");
    for (let attempt = 0; attempt < INSERT_ATTEMPTS; attempt++) {
      const uid = this.nextFree();
      try {
        this.durably(() => this.insert.run(identity, uid));
      } catch (err) {
        // Another connection to the database (another IdentityUids) gave this uid, or
        // this identity, first: learn what it wrote and try again.
        const code = (err as { code?: unknown }).code;
        if (code !== "SQLITE_CONSTRAINT_PRIMARYKEY" && code !== "SQLITE_CONSTRAINT_UNIQUE") throw err;
        this.reload();
        const theirs = this.byIdentity.get(identity);
        if (theirs !== undefined) return theirs;
        continue;
      }
      this.remember(identity, uid);
      return uid;
    }
    throw new Error(`could not give identity ${JSON.stringify(identity)} a uid: the identity_uids table kept changing under this server`);
  }

  /** Every identity and its uid, by uid: for the operator. */
  list(): IdentityUid[] {
    return [...this.byIdentity].map(([identity, uid]) => ({ identity, uid })).sort((a, b) => a.uid - b.uid);
  }

  private nextFree(): number {
    while (this.lowestFree <= this.range.last && this.taken.has(this.lowestFree)) this.lowestFree++;
    if (this.lowestFree > this.range.last) throw new UidRangeExhaustedError(this.range.first, this.range.last);
    return this.lowestFree;
  }

  /**
   * Runs the INSERT with synchronous=FULL, so that it is on disk when it returns, even
   * where the database is kept with synchronous=NORMAL (the job store's setting, safe
   * from a crash but not from power loss): a uid lost to a power cut could be given to
   * another identity, with the home the first one filled. Once per identity, ever.
   * Inside a caller's transaction its COMMIT decides, and the setting is left alone.
   */
  private durably(write: () => void): void {
    if (this.db.inTransaction) return write();
    const before = this.db.pragma("synchronous", { simple: true }) as number;
    if (before >= 2) return write();
    this.db.pragma("synchronous = FULL");
    try {
      write();
    } finally {
      this.db.pragma(`synchronous = ${before}`);
    }
  }

  private reload(): void {
    for (const { identity, uid } of this.selectAll.all()) this.remember(identity, uid);
  }

  private remember(identity: string, uid: number): void {
    this.byIdentity.set(identity, uid);
    this.taken.add(uid);
  }
}
