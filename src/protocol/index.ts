/**
 * The wire contract of the jobworker API (docs/api.md), shared by the server and the
 * client: one TypeBox schema per JSON shape gives both the server's Ajv validation and
 * the TypeScript type. It imports nothing of ours.
 *
 * Where things go:
 * - limits.ts: the limits table (engine name, API name, CLI flag, label, unit, bounds);
 * - job-request.ts: what clients send (`PUT /jobs` body, path and query parameters);
 * - job-record.ts: what the server answers about jobs (status, record, page, output);
 * - error-codes.ts: the stable error codes and the job error codes (plain constants);
 * - errors.ts: the error body's schema;
 * - health.ts: the `GET /healthz` answer.
 *
 * The client and the CLI import the TypeBox files only as types (`import type`), and at
 * run time only the plain-constant files (limits.ts, error-codes.ts): building schemas
 * is not for a CLI start-up to pay.
 */
export * from "./limits.js";
export * from "./error-codes.js";
export * from "./errors.js";
export * from "./job-request.js";
export * from "./job-record.js";
export * from "./health.js";
