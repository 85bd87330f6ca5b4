import Database from "better-sqlite3";
import { IdentityUids } from "./confinement/identity-uids.js";
import type { UidRange } from "./confinement/uid-range.js";
import { chmodSync, closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { WalSync } from "./wal-sync.js";
import { isNoSpaceError } from "./disk-space.js";
import type { JobRecord } from "./types.js";
import type { ValidJobSpec } from "./job-spec.js";
import type { Row } from "./store/columns.js";
import { migrate } from "./store/migrations.js";
import { insertSql, toRecord, updateSql } from "./store/statements.js";
import type { StoredJob } from "./store/stored-job.js";

export type { StoredJob } from "./store/stored-job.js";

/** How many job ends a full disk may keep waiting in memory (each a few hundred bytes). */
const MAX_UNSAVED_ENDS = 100_000;

/** How many finished records `get` keeps parsed in memory. */
const RECENT_RECORDS = 1024;

/** One page of `list`, newest first; `nextCursor` fetches the following page. */
export interface JobPage {
  jobs: JobRecord[];
  nextCursor?: string;
}

/** The writes, made from the column table (store/columns.ts) once. */
const INSERT = insertSql();
const FINISH = updateSql("finish", "id = ?");
// Only while the record says running: a record whose end is written is left as it is.
const STARTED = updateSql("started", "id = ? AND state = 'running'");
const BEGUN = updateSql("begun", "id = ? AND state = 'queued'");

/**
 * Job records in SQLite (`<dataDir>/jobs.db`, WAL, synchronous=NORMAL): every state
 * change is committed before the engine reports it, so a crash of the server never takes
 * one back; `durable()` adds an fsync, shared by concurrent callers and run off the main
 * thread, for what must also survive power loss. Only the running jobs live in memory;
 * finished ones are read from here.
 */
export class JobStore {
  private readonly db: Database.Database;
  private readonly statements;
  /** Page queries by shape of filter (owner, state, how many labels). */
  private readonly filtered = new Map<string, Database.Statement>();
  private readonly walSync: WalSync;
  private readonly recentlyEnded = new Map<string, StoredJob>();
  /**
   * Job ends SQLite could not write (a full disk): served from here, as if written, and
   * written first at the next write (insert or finish) or at close. A crash loses them, and recovery then marks
   * those jobs interrupted, which is what they look like from the disk.
   */
  private readonly unsavedEnds = new Map<string, StoredJob>();
  /**
   * Records per state, counted once at open and kept up to date by every write, so that
   * `countByState` (asked by each metrics scrape) costs nothing: counting 100,000 rows
   * took ~50 ms of this thread, even along an index.
   */
  private readonly counts: Record<JobRecord["state"], number> = { queued: 0, running: 0, completed: 0, error: 0 };

  constructor(dataDir: string) {
    const path = join(dataDir, "jobs.db");
    // Records hold every client's commands: owner-only, whatever the directory's mode.
    // SQLite gives the -wal and -shm files the database file's mode.
    closeSync(openSync(path, "a", 0o600));
    chmodSync(path, 0o600);
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    try {
      migrate(this.db, path);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.walSync = new WalSync(join(dataDir, "jobs.db-wal"));
    this.statements = {
      insert: this.db.prepare(INSERT.sql),
      finish: this.db.prepare(FINISH.sql),
      started: this.db.prepare(STARTED.sql),
      begun: this.db.prepare(BEGUN.sql),
      queued: this.db.prepare("SELECT * FROM jobs WHERE state = 'queued' ORDER BY seq"),
      get: this.db.prepare("SELECT * FROM jobs WHERE id = ?"),
      remove: this.db.prepare("DELETE FROM jobs WHERE id = ? RETURNING state"),
      running: this.db.prepare("SELECT * FROM jobs WHERE state = 'running'"),
      pageAll: this.db.prepare("SELECT * FROM jobs WHERE seq < ? ORDER BY seq DESC LIMIT ?"),
      pageOwner: this.db.prepare("SELECT * FROM jobs WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?"),
      // Retention takes only ended jobs: never a running or a queued one.
      olderThan: this.db.prepare("SELECT id FROM jobs WHERE state NOT IN ('running', 'queued') AND ended_at < ? ORDER BY seq LIMIT ?"),
      beyondCount: this.db.prepare(
        "SELECT id FROM jobs WHERE state NOT IN ('running', 'queued') ORDER BY seq DESC LIMIT ? OFFSET ?",
      ),
      exists: this.db.prepare("SELECT 1 FROM jobs WHERE id = ?"),
    };
    for (const { state, n } of this.db.prepare("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").all() as { state: JobRecord["state"]; n: number }[]) {
      this.counts[state] = n;
    }
  }

  /** Records a new job (queued with the spec it will start with, running, or failed to start). */
  insert(job: StoredJob, queuedSpec?: ValidJobSpec): void {
    this.saveUnsavedEnds();
    this.statements.insert.run(INSERT.values(queuedSpec ? { ...job, queuedSpec } : job));
    this.counts[job.state]++;
  }

  /**
   * A queued job leaves the queue: running from now, with its deadline, and its spec
   * (env values) dropped. Committed before its process is asked for, so a crash after
   * this finds it running (interrupted), never queued again: it runs at most once.
   */
  begun(id: string, deadlineAt: number | undefined): void {
    const { changes } = this.statements.begun.run(BEGUN.values({ state: "running", ...(deadlineAt !== undefined && { deadlineAt }) }, id));
    if (changes > 0) {
      this.counts.queued--;
      this.counts.running++;
    }
  }

  /** The queued jobs, in submission order, each with the spec it is to start with: after a restart, to take up again. */
  queued(): { record: StoredJob; spec: ValidJobSpec }[] {
    return (this.statements.queued.all() as Row[]).map(toRecord).flatMap((record) => (record.queuedSpec ? [{ record, spec: record.queuedSpec }] : []));
  }

  /**
   * Records a running job's process, once the launcher has started it (the record was
   * made before, at `create`), for crash recovery's identity check. A crash before this
   * leaves a running record without a pid: recovery marks it interrupted, and its process,
   * if any, died with the launcher.
   */
  started(id: string, process: { pid: number; pidStart: string | undefined; bootId: string; startedAt: number }): void {
    try {
      this.statements.started.run(STARTED.values(process, id));
    } catch {
      // Only crash recovery reads it, and the launcher dies with us: best effort.
    }
  }

  /** The identities' uids, kept in the same database (see IdentityUids). */
  identityUids(range: UidRange): IdentityUids {
    return IdentityUids.open(this.db, range);
  }

  /** Records many jobs in one transaction (imports, and seeding large histories in tests and benchmarks). */
  insertMany(jobs: StoredJob[]): void {
    const before = { ...this.counts };
    try {
      this.db.transaction((all: StoredJob[]) => all.forEach((job) => this.insert(job)))(jobs);
    } catch (err) {
      // Rolled back: none of them was recorded.
      Object.assign(this.counts, before);
      throw err;
    }
  }

  /**
   * Records a job's end: final state, time and output sizes. Never throws: an end that
   * cannot be written now is kept in memory and written later (see `unsavedEnds`).
   */
  finish(job: JobRecord, from: "running" | "queued" = "running"): void {
    this.saveUnsavedEnds();
    let recorded: boolean;
    try {
      recorded = this.writeEnd(job);
    } catch (err) {
      recorded = this.unsavedEnds.has(job.id) || this.has(job.id);
      this.recentlyEnded.delete(job.id);
      // Only a full disk passes: an end that failed otherwise would fail again. It stays
      // running in the records, and the next start records it interrupted. Bounded: past
      // MAX_UNSAVED_ENDS, the same.
      if (isNoSpaceError(err) && (this.unsavedEnds.has(job.id) || this.unsavedEnds.size < MAX_UNSAVED_ENDS)) {
        this.unsavedEnds.set(job.id, { ...this.unsavedEnds.get(job.id), ...job });
      } else {
        recorded = false;
      }
    }
    // Ends are written once per job, of a running or a queued one (a failed start is inserted ended).
    if (recorded) {
      this.counts[from]--;
      this.counts[job.state]++;
    }
  }

  /** Writes the ends that could not be written before, in order, until one still fails. */
  private saveUnsavedEnds(): void {
    for (const [id, record] of this.unsavedEnds) {
      try {
        this.writeEnd(record);
        this.unsavedEnds.delete(id);
      } catch {
        return; // still no space: try again at the next chance
      }
    }
  }

  /** Writes a job's end; false when it has no record (never inserted, or removed). */
  private writeEnd(job: JobRecord): boolean {
    this.recentlyEnded.delete(job.id);
    // An end without a time ends now.
    const { changes } = this.statements.finish.run(FINISH.values(job.endedAt === undefined ? { ...job, endedAt: Date.now() } : job, job.id));
    return changes > 0;
  }

  get(id: string): StoredJob | undefined {
    const unsaved = this.unsavedEnds.get(id);
    if (unsaved) return unsaved;
    const cached = this.recentlyEnded.get(id);
    if (cached) {
      // Map order is the LRU order: move the entry to the young end.
      this.recentlyEnded.delete(id);
      this.recentlyEnded.set(id, cached);
      return cached;
    }
    const row = this.statements.get.get(id) as Row | undefined;
    const record = row && toRecord(row);
    if (record && record.state !== "running") this.remember(record);
    return record;
  }

  /**
   * Finished records never change until deleted, and clients ask for the same few again
   * and again (status polls), so the most recent ones are kept parsed in memory.
   */
  private remember(record: StoredJob): void {
    this.recentlyEnded.set(record.id, record);
    if (this.recentlyEnded.size > RECENT_RECORDS) this.recentlyEnded.delete(this.recentlyEnded.keys().next().value!);
  }

  has(id: string): boolean {
    return this.statements.exists.get(id) !== undefined;
  }

  remove(id: string): void {
    const removed = this.statements.remove.get(id) as { state: JobRecord["state"] } | undefined;
    // An end not written yet is counted in its final state already.
    if (removed) this.counts[this.unsavedEnds.get(id)?.state ?? removed.state]--;
    this.recentlyEnded.delete(id);
    this.unsavedEnds.delete(id);
  }

  /** How many records there are in each state (every state present, 0 for none); costs nothing. */
  countByState(): Record<JobRecord["state"], number> {
    return { ...this.counts };
  }

  /** Jobs recorded as running: after a restart, the ones the previous server left behind. */
  running(): StoredJob[] {
    return (this.statements.running.all() as Row[]).map(toRecord);
  }

  /**
   * A page of records, newest first, of those that match every filter given (an owner, a
   * state, labels: key and value each). The cursor is opaque to callers.
   */
  page(options: { owner?: string; state?: JobRecord["state"]; labels?: Record<string, string>; limit: number; cursor?: string }): JobPage {
    const before = options.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(options.cursor);
    const labels = Object.entries(options.labels ?? {});
    // One more than asked tells whether another page follows.
    const rows = (
      options.state === undefined && labels.length === 0
        ? options.owner === undefined
          ? this.statements.pageAll.all(before, options.limit + 1)
          : this.statements.pageOwner.all(options.owner, before, options.limit + 1)
        : this.filteredPage(options.owner !== undefined, options.state !== undefined, labels.length).all(
            ...(options.owner !== undefined ? [options.owner] : []),
            ...(options.state !== undefined ? [options.state] : []),
            // Keys are of a-z 0-9 . _ / - only (job-labels.ts): safe inside a quoted JSON path.
            ...labels.flatMap(([key, value]) => [`$."${key}"`, value]),
            before,
            options.limit + 1,
          )
    ) as Row[];
    const more = rows.length > options.limit;
    const shown = more ? rows.slice(0, options.limit) : rows;
    return { jobs: shown.map((row) => this.unsavedEnds.get(row.id as string) ?? toRecord(row)), ...(more && { nextCursor: String(shown[shown.length - 1]!.seq) }) };
  }

  /** The page query for one shape of filter, prepared once per shape. */
  private filteredPage(owner: boolean, state: boolean, labels: number): Database.Statement {
    const key = `${owner}/${state}/${labels}`;
    let statement = this.filtered.get(key);
    if (!statement) {
      const where = [
        ...(owner ? ["owner = ?"] : []),
        ...(state ? ["state = ?"] : []),
        ...Array.from({ length: labels }, () => "json_extract(labels, ?) = ?"),
        "seq < ?",
      ];
      statement = this.db.prepare(`SELECT * FROM jobs WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ?`);
      this.filtered.set(key, statement);
    }
    return statement;
  }

  /** Ids of finished jobs that retention should remove: ended before `endedBefore`, or beyond the newest `keep`. */
  expired(options: { endedBefore?: number; keep?: number; batch: number }): string[] {
    const ids = new Set<string>();
    if (options.endedBefore !== undefined) {
      for (const row of this.statements.olderThan.all(options.endedBefore, options.batch) as { id: string }[]) ids.add(row.id);
    }
    if (options.keep !== undefined) {
      for (const row of this.statements.beyondCount.all(options.batch, options.keep) as { id: string }[]) ids.add(row.id);
    }
    return [...ids];
  }

  /** Resolves once every change committed so far is on disk (group commit). */
  durable(): Promise<void> {
    return this.walSync.sync();
  }

  /** fsyncs run so far (concurrent `durable` calls share them). */
  get syncCount(): number {
    return this.walSync.syncs;
  }

  async close(): Promise<void> {
    this.saveUnsavedEnds();
    await this.walSync.close();
    this.db.close();
  }
}
