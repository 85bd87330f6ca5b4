import { InvalidArgumentError, InvalidJobSpecError, LimitAboveMaximumError } from "../errors.js";
import type { JobLimits } from "../types.js";

// The names, labels, units and bounds of the limits are the protocol's limits table (a
// leaf module): one row per limit for the engine, the API and the CLI alike.
import { LIMIT_BY_ENGINE_NAME, LIMIT_NAMES, type LimitName } from "../../protocol/limits.js";

export { LIMIT_NAMES, type LimitName };
/** The limits table by engine name (label, unit, integer, min, max). */
export const LIMIT_RULES = LIMIT_BY_ENGINE_NAME;

/** Validates a limits object without coercing anything; `what` names it in messages. */
export function validateLimits(value: unknown, what: string, makeError: (message: string) => Error): JobLimits {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw makeError(`${what} must be an object`);
  const limits: JobLimits = {};
  for (const [key, v] of Object.entries(value)) {
    if (!(LIMIT_NAMES as readonly string[]).includes(key)) throw makeError(`${what} has an unknown limit: ${JSON.stringify(key)}`);
    if (v === undefined) continue;
    const rule = LIMIT_RULES[key as LimitName];
    if (typeof v !== "number" || !Number.isFinite(v) || (rule.integer && !Number.isSafeInteger(v))) {
      throw makeError(`${what}.${key} must be ${rule.integer ? "an integer" : "a number"}`);
    }
    if (v < rule.min) throw makeError(`${what}.${key} must be at least ${rule.min} (${rule.unit})`);
    if (v > rule.max) throw makeError(`${what}.${key} must be at most ${rule.max} (${rule.unit})`);
    limits[key as LimitName] = v;
  }
  return limits;
}

export function validateJobLimits(value: unknown): JobLimits {
  return validateLimits(value, "limits", (message) => new InvalidJobSpecError(message));
}

export function validatePoolLimits(value: unknown, what: string): JobLimits {
  return validateLimits(value ?? {}, what, (message) => new InvalidArgumentError(message));
}

/**
 * The limits that apply to a job: what it asked for, else the operator's default, else
 * the maximum (a maximum binds every job, including those that ask for nothing).
 * Throws `LimitAboveMaximumError` for a request above a maximum.
 */
export function effectiveLimits(requested: JobLimits, defaults: JobLimits, maxima: JobLimits): JobLimits {
  const applied: JobLimits = {};
  for (const name of LIMIT_NAMES) {
    const max = maxima[name];
    const asked = requested[name];
    if (asked !== undefined && max !== undefined && asked > max) throw new LimitAboveMaximumError(name, asked, max);
    const value = asked ?? defaults[name] ?? max;
    if (value !== undefined) applied[name] = value;
  }
  return applied;
}
