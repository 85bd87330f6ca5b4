import type { JobErrorCode } from "../../protocol/error-codes.js";
import type { JobIsolation, JobLimits, JobState, JobUsage } from "../types.js";
import type { ValidJobSpec } from "../job-spec.js";
import type { StoredJob } from "./stored-job.js";

/** What SQLite hands back and takes for our columns. */
export type SqlValue = string | number | null;

/** A row of `jobs` as read with `SELECT *`: column name to value. */
export type Row = Readonly<Record<string, SqlValue>>;

/**
 * The statements that write records: `insert` makes a record (queued, running, or a failed
 * start already ended), `begun` takes a queued job out of the queue, `started` adds a
 * running job's process, `finish` writes its end.
 */
export type Write = "insert" | "begun" | "started" | "finish";

/** One column of `jobs`: how it is declared, when it is written, and how it maps to a record. */
export interface Column {
  /** Its SQL name. */
  readonly name: string;
  /** Its type and constraints, for CREATE TABLE and for ALTER TABLE ADD COLUMN. */
  readonly sql: string;
  /** The statements that set it; a column none sets keeps its default (or SQLite's value). */
  readonly writtenBy: readonly Write[];
  /** Its value, taken from a record. */
  toSql(record: Partial<StoredJob>): SqlValue;
  /** The record field it fills, absent for a column that is not part of a record (seq). */
  readonly field?: keyof StoredJob;
  /** The field's value from a non-NULL value of the column; undefined leaves the field out. */
  fromSql?(value: string | number, row: Row): unknown;
}

/** How one field's values are kept in SQL. A NULL column always reads as an absent field. */
interface Codec<T> {
  toSql(value: T | undefined): SqlValue;
  fromSql(value: string | number, row: Row): T | undefined;
}

/** Kept as it is (text or integer); absent is NULL. */
function plain<T extends string | number>(): Codec<T> {
  return { toSql: (value) => value ?? null, fromSql: (value) => value as T };
}

/** JSON text; absent is NULL. */
function json<T>(): Codec<T> {
  return { toSql: (value) => (value == null ? null : JSON.stringify(value)), fromSql: (value) => JSON.parse(value as string) as T };
}

/** 0 or 1; only a set flag is in a record (`truncated: true`, never `false`). */
function flag<T extends boolean>(): Codec<T> {
  return { toSql: (value) => (value ? 1 : 0), fromSql: (value) => (value !== 0 ? (true as T) : undefined) };
}

function column<F extends keyof StoredJob>(name: string, sql: string, field: F, writtenBy: readonly Write[], codec: Codec<StoredJob[F]>): Column {
  return { name, sql, writtenBy, field, toSql: (record) => codec.toSql(record[field]), fromSql: codec.fromSql };
}

/**
 * The `jobs` table, one entry per column: CREATE TABLE, the INSERT and UPDATE statements
 * and the row-to-record mapping are all made from it (store/statements.ts).
 *
 * To add a column: one entry here (nullable, or NOT NULL with a DEFAULT, so that ALTER
 * TABLE can add it to a database made before), and one step at the end of MIGRATIONS
 * (store/migrations.ts): `{ what: "...", up: addColumns("new_column") }`. New databases
 * get the whole table at once; test/engine/job-store-migrations.test.ts checks that a
 * migrated one ends the same. A new state value needs no step: `state` is free text.
 */
export const COLUMNS: readonly Column[] = [
  // Creation order: newest first, and the page cursor. SQLite sets it; never in a record.
  { name: "seq", sql: "INTEGER PRIMARY KEY AUTOINCREMENT", writtenBy: [], toSql: () => null },
  column("id", "TEXT NOT NULL UNIQUE", "id", ["insert"], plain()),
  column("owner", "TEXT NOT NULL", "owner", ["insert"], plain()),
  column("cmd", "TEXT NOT NULL", "cmd", ["insert"], plain()),
  column("args", "TEXT NOT NULL", "args", ["insert"], json<string[]>()), // JSON array of strings
  column("cwd", "TEXT NOT NULL", "cwd", ["insert"], plain()),
  column("env_names", "TEXT NOT NULL", "envNames", ["insert"], json<string[]>()), // JSON array; values are never stored
  column("created_at", "INTEGER NOT NULL", "createdAt", ["insert"], plain()),
  column("ended_at", "INTEGER", "endedAt", ["insert", "finish"], plain()),
  column("state", "TEXT NOT NULL", "state", ["insert", "begun", "finish"], plain<JobState>()),
  column("exit_code", "INTEGER", "exitCode", ["insert", "finish"], plain()),
  column("signal", "TEXT", "signal", ["insert", "finish"], plain()),
  column("error_msg", "TEXT", "errorMsg", ["insert", "finish"], plain()),
  // The pid is told only while the job runs: a finished job's pid may be another process's.
  column("pid", "INTEGER", "pid", ["insert", "started"], { ...plain<number>(), fromSql: (value, row) => (row.state === "running" ? (value as number) : undefined) }),
  column("pid_start", "TEXT", "pidStart", ["insert", "started"], plain()),
  column("boot_id", "TEXT", "bootId", ["insert", "started"], plain()),
  // Sizes and flags of the end: a new record has the defaults.
  column("stdout_bytes", "INTEGER NOT NULL DEFAULT 0", "stdoutBytes", ["finish"], plain()),
  column("stderr_bytes", "INTEGER NOT NULL DEFAULT 0", "stderrBytes", ["finish"], plain()),
  column("truncated", "INTEGER NOT NULL DEFAULT 0", "truncated", ["finish"], flag()),
  // The limits that applied (JobLimits); NULL for none, an empty object included.
  column("limits", "TEXT", "limits", ["insert"], { ...json<JobLimits>(), toSql: (limits) => (limits && Object.keys(limits).length > 0 ? JSON.stringify(limits) : null) }),
  column("oom_killed", "INTEGER NOT NULL DEFAULT 0", "oomKilled", ["finish"], flag()),
  column("isolation", "TEXT", "isolation", ["insert"], json<JobIsolation>()), // the namespaces the job ran in; NULL for none
  // Why a job is in state error, for programs; NULL in records older than it, whose
  // error_msg alone tells.
  column("error_code", "TEXT", "errorCode", ["insert", "finish"], plain<JobErrorCode>()),
  column("timed_out", "INTEGER NOT NULL DEFAULT 0", "timedOut", ["finish"], flag()),
  // When a job with a timeout is to be stopped (ms since the epoch): fixed when it leaves the queue.
  column("deadline_at", "INTEGER", "deadlineAt", ["insert", "begun"], plain()),
  column("labels", "TEXT", "labels", ["insert"], json<Record<string, string>>()), // NULL for none
  column("started_at", "INTEGER", "startedAt", ["started"], plain()), // when its process was started; NULL if it never ran
  column("usage", "TEXT", "usage", ["finish"], json<JobUsage>()), // what it used (JobUsage), final; NULL for none
  // A queued job's whole spec, env values included (records never hold those otherwise),
  // for a restart to take it up again; NULL once it has left the queue.
  column("queued_spec", "TEXT", "queuedSpec", ["insert", "begun"], json<ValidJobSpec>()),
];

/** The column of that name; throws for one the table does not declare (a mistake in a migration step). */
export function columnNamed(name: string): Column {
  const found = COLUMNS.find((c) => c.name === name);
  if (!found) throw new Error(`the jobs table has no column ${name} in store/columns.ts`);
  return found;
}
