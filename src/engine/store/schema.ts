import { COLUMNS, columnNamed } from "./columns.js";

/**
 * The indexes of `jobs`. A new one goes here (new databases get it) and into a migration
 * step, `db.exec(createIndexSql(...))`, for databases made before it.
 */
export const INDEXES: readonly { readonly name: string; readonly on: string }[] = [
  { name: "jobs_by_owner", on: "jobs (owner, seq)" },
  { name: "jobs_running", on: "jobs (state) WHERE state = 'running'" },
  { name: "jobs_queued", on: "jobs (seq) WHERE state = 'queued'" },
];

/** CREATE TABLE of the current schema, from the column table. */
export function createTableSql(): string {
  return `CREATE TABLE jobs (\n${COLUMNS.map((c) => `  ${c.name} ${c.sql}`).join(",\n")}\n)`;
}

export function createIndexSql(index: (typeof INDEXES)[number]): string {
  return `CREATE INDEX IF NOT EXISTS ${index.name} ON ${index.on}`;
}

/** ALTER TABLE that adds a declared column to a database made before it. */
export function addColumnSql(name: string): string {
  const column = columnNamed(name);
  return `ALTER TABLE jobs ADD COLUMN ${column.name} ${column.sql}`;
}
