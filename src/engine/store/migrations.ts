import type Database from "better-sqlite3";
import { StoreTooNewError } from "../errors.js";
import { addColumnSql, createIndexSql, createTableSql, INDEXES } from "./schema.js";

/** One change of the schema, from the version before it to its own (its index + 1). */
export interface Migration {
  /** What it changes, for people reading the list. */
  readonly what: string;
  up(db: Database.Database): void;
}

/**
 * Adds declared columns (store/columns.ts) to a database made before them, each as the
 * table declares it now: a step that needs a column's older shape writes its SQL out.
 */
function addColumns(...names: string[]): Migration["up"] {
  return (db) => {
    for (const name of names) db.exec(addColumnSql(name));
  };
}

/**
 * Every schema change, in order; `PRAGMA user_version` is how many of them a database
 * has had. Append only: a released step is never edited, reordered or removed, since
 * databases out there have had it.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    // Before user_version was kept, every open added whichever of these columns was
    // missing (releases added them one by one), so such a database may have any of them.
    what: "adopt a database made before user_version: add the columns it may lack",
    up(db) {
      const present = new Set((db.prepare("SELECT name FROM pragma_table_info('jobs')").all() as { name: string }[]).map((r) => r.name));
      const added = ["limits", "oom_killed", "isolation", "error_code", "timed_out", "deadline_at", "labels"];
      addColumns(...added.filter((name) => !present.has(name)))(db);
      // The indexes of that time, by name: later ones come with their own steps.
      for (const index of INDEXES.filter((i) => i.name === "jobs_by_owner" || i.name === "jobs_running")) db.exec(createIndexSql(index));
    },
  },
  {
    what: "the queue and usage: started_at, usage, queued_spec, and the index of queued jobs",
    up(db) {
      addColumns("started_at", "usage", "queued_spec")(db);
      db.exec(createIndexSql(INDEXES.find((i) => i.name === "jobs_queued")!));
    },
  },
];

/** The schema version this code makes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database at `path` to SCHEMA_VERSION, in one transaction: a new database
 * gets the current schema at once; an older one runs the steps it has not had. A
 * database newer than this code is refused, untouched: its records may hold what this
 * code would drop or misread, and nothing here knows how to go back.
 */
export function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new StoreTooNewError(path, version, SCHEMA_VERSION);
    if (version === SCHEMA_VERSION) return;
    const made = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").get() !== undefined;
    if (version === 0 && !made) {
      db.exec(createTableSql());
      for (const index of INDEXES) db.exec(createIndexSql(index));
    } else {
      for (const step of MIGRATIONS.slice(version)) step.up(db);
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
