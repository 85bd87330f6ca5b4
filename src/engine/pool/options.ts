import { LIMIT_NAMES, validatePoolLimits } from "../cgroups/limits.js";
import { describeAboveMaximum, InvalidArgumentError } from "../errors.js";
import { isTimeout } from "../job-spec.js";
import { MAX_TIMEOUT_MS } from "../../protocol/limits.js";
import type { JobLimits, PoolOptions } from "../types.js";

/** What `JobPool.open` needs of its options once they are known to be sound. */
export interface CheckedPoolOptions {
  defaults: JobLimits;
  maxima: JobLimits;
}

/**
 * Checks a pool's options before anything is touched on disk, so that a refused `open`
 * changes nothing. Throws `InvalidArgumentError` (or `InvalidJobSpecError` for a limit)
 * naming the option.
 */
export function checkPoolOptions(options: PoolOptions): CheckedPoolOptions {
  checkNonNegative(options.stopGraceMs, "stopGraceMs");
  checkNonNegative(options.maxOutputBytes, "maxOutputBytes");
  const defaults = validatePoolLimits(options.limits?.defaults, "limits.defaults");
  const maxima = validatePoolLimits(options.limits?.maxima, "limits.maxima");
  for (const name of LIMIT_NAMES) {
    const d = defaults[name];
    const m = maxima[name];
    if (d !== undefined && m !== undefined && d > m) throw new InvalidArgumentError(describeAboveMaximum(name, "default", d, m));
  }
  if (options.runAs) {
    if (process.getuid?.() !== 0) throw new InvalidArgumentError("runAs needs the server to run as root (to switch to the job's user)");
  }
  const { defaultMs, maxMs } = options.timeouts ?? {};
  if (defaultMs !== undefined && !isTimeout(defaultMs)) throw new InvalidArgumentError(`timeouts.defaultMs must be an integer from 1 to ${MAX_TIMEOUT_MS}`);
  if (maxMs !== undefined && !isTimeout(maxMs)) throw new InvalidArgumentError(`timeouts.maxMs must be an integer from 1 to ${MAX_TIMEOUT_MS}`);
  if (defaultMs !== undefined && maxMs !== undefined && defaultMs > maxMs) throw new InvalidArgumentError(`the default timeout (${defaultMs} ms) is above the maximum (${maxMs} ms)`);
  return { defaults, maxima };
}

function checkNonNegative(value: number | undefined, name: string): void {
  if (value !== undefined && !(value >= 0)) throw new InvalidArgumentError(`${name} must be a non-negative number`);
}
