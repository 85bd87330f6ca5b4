import { Type, type Static, type TInteger, type TNumber, type TObject, type TOptional } from "@sinclair/typebox";
import { SINCE_DESCRIPTION } from "./since.js";
import { describeLimitRange, LIMITS, MAX_TIMEOUT_MS, type ApiLimitName } from "./limits.js";

/**
 * What clients send: the body of `PUT /jobs` and the path and query parameters of the
 * job endpoints. A new field of a job request goes in {@link JobSpec} (and in the engine);
 * the server validates with these schemas (Ajv: unknown fields and wrong types are
 * refused, nothing is coerced) and the client's types are theirs.
 *
 * `description` on a leaf schema completes "must be …" in refusals (src/server/validation-message.ts),
 * so a refusal never shows a regular expression.
 */

/** The `limits` object, one optional field per row of the limits table. */
export const Limits = Type.Object(
  Object.fromEntries(
    LIMITS.map((l) => [
      l.api,
      Type.Optional(
        (l.integer ? Type.Integer : Type.Number)({ minimum: l.min, maximum: l.max, description: `${describeLimitRange(l)} (${l.unit})` }),
      ),
    ]),
  ) as Record<ApiLimitName, TOptional<TInteger | TNumber>>,
  { additionalProperties: false },
) satisfies TObject;
export type Limits = Static<typeof Limits>;

/** Labels: an object of strings; the rules (keys, lengths, count) are the engine's, which names the one broken. */
const Labels = Type.Unsafe<Record<string, string>>({ type: "object", additionalProperties: { type: "string" }, description: "an object of string labels" });

/** Body of `PUT /jobs`. Deeper checks (NUL bytes, env names, label rules) are the engine's. */
export const JobSpec = Type.Object(
  {
    cmd: Type.String({ minLength: 1 }),
    args: Type.Optional(Type.Array(Type.String())),
    // Not Type.Record: its patternProperties would call a name with a newline unknown.
    env: Type.Optional(Type.Unsafe<Record<string, string>>({ type: "object", additionalProperties: { type: "string" } })),
    cwd: Type.Optional(Type.String({ minLength: 1 })),
    /** "none": only loopback, in a network namespace of its own (needs a server that isolates jobs); default "host". */
    network: Type.Optional(Type.Unsafe<"host" | "none">({ type: "string", enum: ["host", "none"] })),
    limits: Type.Optional(Limits),
    /** Give the job a stdin pipe, written with `PUT /jobs/<id>/stdin`; default /dev/null. */
    stdin: Type.Optional(Type.Boolean()),
    /** Stop the job (SIGTERM, the grace period, SIGKILL) once it has run this long; the record then says `timed_out`. */
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TIMEOUT_MS, description: `a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}` })),
    /** Labels to find the job by (`GET /jobs?label=key=value`): keys of a-z 0-9 . _ / - (at most 63), values of at most 256 characters, at most 32. */
    labels: Type.Optional(Labels),
  },
  { additionalProperties: false },
);
export type JobSpec = Static<typeof JobSpec>;

/** The longest `?wait=` of a status long poll, in seconds. */
export const MAX_STATUS_WAIT_SECONDS = 300;

/** Query of `GET /jobs/<id>/status`: `wait=30` (seconds, at most 300) answers once the job has ended or the wait is over. */
export const StatusQuery = Type.Object(
  {
    // 0 to 300 spelled out (MAX_STATUS_WAIT_SECONDS): a three-digit pattern let 301-999 through.
    wait: Type.Optional(Type.String({ pattern: "^(0|[1-9][0-9]?|[12][0-9]{2}|300)$", description: `a whole number of seconds from 0 to ${MAX_STATUS_WAIT_SECONDS}` })),
  },
  { additionalProperties: false },
);
export type StatusQuery = Static<typeof StatusQuery>;

/** `PUT /jobs` answers the new job's id; a job that waits for a slot also says so, and its place. */
export const CreatedJob = Type.Object(
  {
    id: Type.String(),
    status: Type.Optional(Type.Literal("queued")),
    /** 1 for the next of this identity's jobs to start, and so on. */
    queue_position: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type CreatedJob = Static<typeof CreatedJob>;

/**
 * `:id`. Any string is accepted here on purpose: a malformed id must get the very same
 * 404 as an unknown one, which the route gives.
 */
export const JobParams = Type.Object({ id: Type.String() }, { additionalProperties: false });
export type JobParams = Static<typeof JobParams>;

/** Query of the `stdout`/`stderr` endpoints; strings, since nothing is coerced. */
// An enum, not a union of literals: Ajv then says "must be one of …" in one complaint.
const Flag = () => Type.Optional(Type.Unsafe<"true" | "false" | "1" | "0">({ type: "string", enum: ["true", "false", "1", "0"] }));
/** `tail` and `since`: where reading starts, by lines from the end or by capture time. */
const SeekFields = {
  tail: Type.Optional(Type.String({ pattern: "^(0|[1-9][0-9]{0,15})$", description: "a whole number of lines" })),
  since: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: SINCE_DESCRIPTION })),
};

export const OutputStreamQuery = Type.Object(
  {
    follow: Flag(),
    offset: Type.Optional(Type.String({ pattern: "^(0|[1-9][0-9]{0,15})$", description: "a whole number of bytes" })),
    ...SeekFields,
    timestamps: Flag(),
  },
  { additionalProperties: false },
);
export type OutputStreamQuery = Static<typeof OutputStreamQuery>;

/** Query of `GET /jobs/<id>/log`: as the streams', without `offset` (two streams, two offsets) and `timestamps` (every chunk has its time). */
export const LogQuery = Type.Object({ follow: Flag(), ...SeekFields }, { additionalProperties: false });
export type LogQuery = Static<typeof LogQuery>;

/**
 * Query of `GET /jobs`: a page size (1–1000, default 100), the previous page's
 * `next_cursor`, and for the server's admins whose jobs (`owner`: an identity, or `*`
 * for every identity's).
 */
export const ListQuery = Type.Object(
  {
    owner: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, pattern: "^[^\\u0000-\\u001f\\u007f]+$", description: "an identity (a certificate CN) or *" }),
    ),
    limit: Type.Optional(Type.String({ pattern: "^([1-9][0-9]{0,2}|1000)$", description: "an integer from 1 to 1000" })),
    cursor: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,15}$", description: "the next_cursor of a previous page" })),
    /** Only jobs with this label, `key=value`; repeatable, and then all must match. */
    label: Type.Optional(Type.Union([Type.String({ maxLength: 330, description: "key=value" }), Type.Array(Type.String({ maxLength: 330, description: "key=value" }), { maxItems: 32 })])),
    /** Only jobs in this state. */
    status: Type.Optional(Type.Unsafe<"queued" | "running" | "completed" | "error">({ type: "string", enum: ["queued", "running", "completed", "error"], description: "queued, running, completed or error" })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

/** The body of `POST /jobs/<id>/signal`: a signal's name, checked by the engine (a 400 names the rule). */
export const SignalRequest = Type.Object(
  { signal: Type.String({ minLength: 1, maxLength: 32, description: "a signal's name, e.g. SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGKILL" }) },
  { additionalProperties: false },
);
export type SignalRequest = Static<typeof SignalRequest>;

/** Endpoints without a query string refuse one rather than ignore it. */
export const EmptyQuery = Type.Object({}, { additionalProperties: false });
