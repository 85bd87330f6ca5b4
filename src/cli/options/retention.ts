// `serve --retain`: which finished jobs to keep. "7d" (an age), "1000" (a count) or both,
// comma-separated ("7d,1000"): a job goes when either says so.
import { InvalidArgumentError } from "commander";
import type { RetentionPolicy } from "../../engine/index.js";

const AGE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses the value of `--retain`. */
export function parseRetention(value: string): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const part of value.split(",").map((p) => p.trim())) {
    const age = /^([1-9]\d{0,6})([smhd])$/.exec(part);
    if (age && policy.maxAgeMs === undefined) policy.maxAgeMs = Number(age[1]) * AGE_UNITS[age[2]!]!;
    else if (/^[1-9]\d{0,8}$/.test(part) && policy.maxCount === undefined) policy.maxCount = Number(part);
    else throw new InvalidArgumentError("expected an age (30m, 12h, 7d), a count of jobs (1000), or both: 7d,1000");
  }
  return policy;
}
