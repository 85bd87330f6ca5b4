/**
 * SQL that takes from a current jobs.db what came after schema versions began (the
 * queue and usage columns, the queued index): with user_version = 0 and an older
 * column dropped too, it is a database as a release before schema versions left it.
 */
export const AFTER_SCHEMA_VERSIONS = "DROP INDEX jobs_queued; ALTER TABLE jobs DROP COLUMN started_at; ALTER TABLE jobs DROP COLUMN usage; ALTER TABLE jobs DROP COLUMN queued_spec";
