/**
 * JSON schemas of the request inputs. Fastify is configured with
 * `removeAdditional: false, coerceTypes: false, useDefaults: false`, so these refuse
 * unknown fields and wrong types instead of silently dropping or converting them.
 */

import { LIMIT_RULES } from "../engine/index.js";

/** Body of `PUT /jobs`. Deeper checks (NUL bytes, env names) are the engine's. */
export const createJobBody = {
  type: "object",
  additionalProperties: false,
  required: ["cmd"],
  properties: {
    cmd: { type: "string", minLength: 1 },
    args: { type: "array", items: { type: "string" } },
    env: { type: "object", additionalProperties: { type: "string" } },
    cwd: { type: "string", minLength: 1 },
    network: { type: "string", enum: ["host", "none"] },
    // The engine's own floors (docs/design.md, "Resource control"); maxima are the operator's.
    limits: {
      type: "object",
      additionalProperties: false,
      properties: {
        memory_bytes: { type: "integer", minimum: LIMIT_RULES.memoryBytes.min },
        cpus: { type: "number", minimum: LIMIT_RULES.cpus.min },
        pids: { type: "integer", minimum: LIMIT_RULES.pids.min },
        io_read_bps: { type: "integer", minimum: LIMIT_RULES.ioReadBps.min },
        io_write_bps: { type: "integer", minimum: LIMIT_RULES.ioWriteBps.min },
      },
    },
  },
} as const;

/** What {@link createJobBody} accepts, as a type. */
export interface CreateJobBody {
  cmd: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** "none": only loopback, in a network namespace of its own (needs isolation). */
  network?: "host" | "none";
  limits?: LimitsJson;
}

/** Resource limits as the API spells them (DESIGN.md section 2). */
export interface LimitsJson {
  memory_bytes?: number;
  cpus?: number;
  pids?: number;
  io_read_bps?: number;
  io_write_bps?: number;
}

/**
 * `:id`. Any string is accepted here on purpose: a malformed id must get the very same
 * 404 as an unknown one, which the route gives.
 */
export const jobParams = {
  type: "object",
  additionalProperties: false,
  required: ["id"],
  properties: { id: { type: "string" } },
} as const;

/** Query of the `stdout`/`stderr` endpoints; strings, since nothing is coerced. */
export const outputStreamQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    follow: { type: "string", enum: ["true", "false", "1", "0"] },
    offset: { type: "string", pattern: "^(0|[1-9][0-9]{0,15})$" },
  },
} as const;

/** Query of `GET /jobs`: a page size (1–1000, default 100) and the previous page's `next_cursor`. */
export const listQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    limit: { type: "string", pattern: "^([1-9][0-9]{0,2}|1000)$" },
    cursor: { type: "string", pattern: "^[1-9][0-9]{0,15}$" },
  },
} as const;

/** Endpoints without a query string refuse one rather than ignore it. */
export const emptyQuery = { type: "object", additionalProperties: false, properties: {} } as const;
