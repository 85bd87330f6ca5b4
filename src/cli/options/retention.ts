// `serve --retain`: which finished jobs to keep. "7d" (an age), "1000" (a count) or both,
// comma-separated ("7d,1000"): a job goes when either says so.
import { InvalidArgumentError } from "commander";
import type { RetentionPolicy } from "../../engine/index.js";
import { durationMs } from "./duration.js";

/** Parses the value of `--retain`. */
export function parseRetention(value: string): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const part of value.split(",").map((p) => p.trim())) {
    const age = durationMs(part);
    if (age !== undefined && policy.maxAgeMs === undefined) policy.maxAgeMs = age;
    else if (/^[1-9]\d{0,8}$/.test(part) && policy.maxCount === undefined) policy.maxCount = Number(part);
    else throw new InvalidArgumentError("expected an age (30m, 12h, 7d), a count of jobs (1000), or both: 7d,1000");
  }
  return policy;
}
