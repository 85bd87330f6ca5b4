import { MAX_TIMEOUT_MS } from "../protocol/limits.js";
import { InvalidJobSpecError } from "./errors.js";
import { validateJobLimits } from "./cgroups/limits.js";
import { validateLabels } from "./job-labels.js";
import type { JobLimits, JobSpec } from "./types.js";

/** A JobSpec after validation: every field present and of the right type. */
export interface ValidJobSpec {
  cmd: string;
  args: string[];
  owner: string;
  env: Record<string, string>;
  cwd: string | undefined;
  /** What the job asked for (before the pool's defaults and maxima). */
  limits: JobLimits;
  network: "host" | "none";
  timeoutMs: number | undefined;
  stdin: boolean;
  /** Its labels (job-labels.ts), possibly none. */
  labels: Record<string, string>;
}


/** Whether `value` is a valid timeout in milliseconds. */
export function isTimeout(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_TIMEOUT_MS;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The owner used when a caller embeds the library without identities. */
export const DEFAULT_OWNER = "local";

function checkString(value: unknown, what: string, { allowEmpty }: { allowEmpty: boolean }): string {
  if (typeof value !== "string") throw new InvalidJobSpecError(`${what} must be a string`);
  if (!allowEmpty && value.length === 0) throw new InvalidJobSpecError(`${what} must not be empty`);
  // execve takes C strings: a NUL byte would silently cut the value short.
  if (value.includes("\0")) throw new InvalidJobSpecError(`${what} must not contain a NUL byte`);
  return value;
}

/**
 * Validates what `create` was given, without coercing anything: the engine is a library,
 * and JavaScript callers can pass anything.
 */
export function validateJobSpec(spec: unknown): ValidJobSpec {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new InvalidJobSpecError("job spec must be an object");
  }
  const { cmd, args = [], owner = DEFAULT_OWNER, env = {}, cwd, limits, network = "host", timeoutMs, stdin = false, labels } = spec as JobSpec;
  checkString(cmd, "cmd", { allowEmpty: false });
  if (!Array.isArray(args)) throw new InvalidJobSpecError("args must be an array of strings");
  args.forEach((arg, i) => checkString(arg, `args[${i}]`, { allowEmpty: true }));
  checkString(owner, "owner", { allowEmpty: false });
  if (typeof env !== "object" || env === null || Array.isArray(env)) {
    throw new InvalidJobSpecError("env must be an object of strings");
  }
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) throw new InvalidJobSpecError(`env name is not valid: ${JSON.stringify(name)}`);
    checkString(value, `env.${name}`, { allowEmpty: true });
  }
  if (cwd !== undefined) {
    checkString(cwd, "cwd", { allowEmpty: false });
    if (!cwd.startsWith("/")) throw new InvalidJobSpecError("cwd must be an absolute path");
  }
  if (network !== "host" && network !== "none") throw new InvalidJobSpecError('network must be "host" or "none"');
  if (typeof stdin !== "boolean") throw new InvalidJobSpecError("stdin must be true or false");
  if (timeoutMs !== undefined && !isTimeout(timeoutMs)) throw new InvalidJobSpecError(`timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}`);
  return { cmd, args: [...args], owner, env: { ...env }, cwd, limits: limits === undefined ? {} : validateJobLimits(limits), network, timeoutMs, stdin, labels: validateLabels(labels) };
}
