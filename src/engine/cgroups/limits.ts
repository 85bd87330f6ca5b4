import { InvalidArgumentError, InvalidJobSpecError, LimitAboveMaximumError } from "../errors.js";
import type { JobLimits } from "../types.js";

/** The limits a job can ask for, in a fixed order (records, messages, start-up report). */
export const LIMIT_NAMES = ["memoryBytes", "cpus", "pids", "ioReadBps", "ioWriteBps"] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

interface LimitRule {
  /** How people call it, in messages. */
  label: string;
  unit: string;
  integer: boolean;
  /** The smallest value the engine accepts, and why (see docs/design.md, "Resource control"). */
  min: number;
}

const MIB = 1024 * 1024;

export const LIMIT_RULES: Record<LimitName, LimitRule> = {
  // The server's own thread is inside the job's memory cgroup for the few microseconds of
  // spawn(): a tiny limit would let the kernel's OOM killer pick the server.
  memoryBytes: { label: "memory", unit: "bytes", integer: true, min: 4 * MIB },
  // cfs_quota_us has a floor of 1 ms per 100 ms period.
  cpus: { label: "cpus", unit: "CPUs", integer: false, min: 0.01 },
  // The server's thread that forks the job counts while the job is born (see design.md).
  pids: { label: "pids", unit: "processes", integer: true, min: 2 },
  ioReadBps: { label: "io read", unit: "bytes/s", integer: true, min: 1 },
  ioWriteBps: { label: "io write", unit: "bytes/s", integer: true, min: 1 },
};

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
