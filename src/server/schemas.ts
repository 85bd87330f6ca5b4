/**
 * JSON schemas of the request inputs. Fastify is configured with
 * `removeAdditional: false, coerceTypes: false, useDefaults: false`, so these refuse
 * unknown fields and wrong types instead of silently dropping or converting them.
 */

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
    // Declared so that a well-formed request gets the precise "not supported" answer.
    limits: {
      type: "object",
      additionalProperties: false,
      properties: {
        memory_bytes: { type: "integer", minimum: 1 },
        cpus: { type: "number", exclusiveMinimum: 0 },
        pids: { type: "integer", minimum: 1 },
        io_read_bps: { type: "integer", minimum: 1 },
        io_write_bps: { type: "integer", minimum: 1 },
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
  limits?: Record<string, number>;
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

/** Endpoints without a query string refuse one rather than ignore it. */
export const emptyQuery = { type: "object", additionalProperties: false, properties: {} } as const;
