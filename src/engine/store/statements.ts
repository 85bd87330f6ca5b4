import { COLUMNS, type Column, type Row, type SqlValue, type Write } from "./columns.js";
import type { StoredJob } from "./stored-job.js";

/** A write's SQL, with `?` for each of its columns in order, and how to take their values from a record. */
export interface WriteSql {
  readonly sql: string;
  /** The values for the statement's parameters: its columns', then the WHERE clause's `extra`. */
  values(record: Partial<StoredJob>, ...extra: SqlValue[]): SqlValue[];
}

function columnsOf(write: Write): Column[] {
  return COLUMNS.filter((c) => c.writtenBy.includes(write));
}

function valuesOf(columns: readonly Column[]): WriteSql["values"] {
  return (record, ...extra) => {
    const values: SqlValue[] = new Array(columns.length);
    for (let i = 0; i < columns.length; i++) values[i] = columns[i]!.toSql(record);
    return extra.length === 0 ? values : values.concat(extra);
  };
}

/** INSERT of a new record: every column the table says `insert` writes. */
export function insertSql(): WriteSql {
  const columns = columnsOf("insert");
  return {
    sql: `INSERT INTO jobs (${columns.map((c) => c.name).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
    values: valuesOf(columns),
  };
}

/** UPDATE of the columns that `write` writes, of the rows `where` selects (its parameters follow the columns'). */
export function updateSql(write: Exclude<Write, "insert">, where: string): WriteSql {
  const columns = columnsOf(write);
  return { sql: `UPDATE jobs SET ${columns.map((c) => `${c.name} = ?`).join(", ")} WHERE ${where}`, values: valuesOf(columns) };
}

const READ = COLUMNS.filter((c): c is Column & Required<Pick<Column, "field" | "fromSql">> => c.field !== undefined && c.fromSql !== undefined);

/** The record a row holds: each column's field, left out where the column is NULL (or its reader says so). */
export function toRecord(row: Row): StoredJob {
  const record: Record<string, unknown> = {};
  for (const column of READ) {
    const value = row[column.name];
    if (value === null || value === undefined) continue;
    const field = column.fromSql(value, row);
    if (field !== undefined) record[column.field] = field;
  }
  return record as unknown as StoredJob;
}
