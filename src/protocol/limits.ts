/**
 * The one table of a job's resource limits: for each, its engine name (`memoryBytes`),
 * its API name (`memory_bytes`), its CLI flag stem (`--memory`), how messages name it,
 * its unit and its bounds.
 *
 * Everything else derives from this table: the engine's checks and messages, the
 * `PUT /jobs` schema, the JSON of a record, the CLI's `--memory`… options and serve's
 * `--max-…`/`--default-…` options. Adding a limit means adding a row here and teaching
 * the engine to enforce it (src/engine/cgroups/), nothing else.
 *
 * A leaf module: it imports nothing, so the engine, the server, the client and the
 * CLI can all load it at no cost.
 */

const MIB = 1024 * 1024;

/** One limit of {@link LIMITS}. */
export interface LimitSpec {
  /** The name in the engine's `JobLimits` (camelCase). */
  readonly engine: string;
  /** The name in the API's `limits` object (snake_case). */
  readonly api: string;
  /** The CLI option's stem: `--memory`, serve's `--max-memory` and `--default-memory`. */
  readonly flag: string;
  /** How messages call it ("memory limit 2147483648 bytes is above…"). */
  readonly label: string;
  readonly unit: string;
  /** Whether only whole numbers make sense. */
  readonly integer: boolean;
  /** The smallest value the engine accepts (why: see docs/design.md, "Resource control"). */
  readonly min: number;
  /** The largest value the API accepts (the kernel's own bound where it has one). */
  readonly max: number;
  /** How the CLI reads the flag's value: a size with K/M/G suffixes, a fraction, or a count. */
  readonly parse: "bytes" | "fraction" | "count";
  /** The CLI's help for `start`/`run --FLAG`, serve's `--max-FLAG` and `--default-FLAG`. */
  readonly help: { readonly job: string; readonly max: string; readonly default: string };
}

/** The five limits, in the order records, messages and start-up reports use. */
export const LIMITS = [
  // The server's own thread is inside the job's memory cgroup for the few microseconds of
  // spawn(): a tiny limit would let the kernel's OOM killer pick the server.
  { engine: "memoryBytes", api: "memory_bytes", flag: "memory", label: "memory", unit: "bytes", integer: true, min: 4 * MIB, max: Number.MAX_SAFE_INTEGER, parse: "bytes",
    help: { job: "memory limit, e.g. 256M or 1G (the job is killed, \"out of memory\", beyond it)", max: "most memory a job may ask for, e.g. 1G (also applies to jobs that ask for none)", default: "memory limit of jobs that ask for none, e.g. 256M" } },
  // cfs_quota_us has a floor of 1 ms per 100 ms period; no Linux build has more than 8192 CPUs
  // (a request above the host's own count is refused by the server, naming the count).
  { engine: "cpus", api: "cpus", flag: "cpus", label: "cpus", unit: "CPUs", integer: false, min: 0.01, max: 8192, parse: "fraction",
    help: { job: "CPU limit as a fraction of cores, e.g. 0.5", max: "most CPUs a job may ask for, e.g. 2", default: "CPU limit of jobs that ask for none, e.g. 0.5" } },
  // The server's thread that forks the job counts while the job is born (see design.md);
  // 4194304 is the kernel's PID_MAX_LIMIT.
  { engine: "pids", api: "pids", flag: "pids", label: "pids", unit: "processes", integer: true, min: 2, max: 4194304, parse: "count",
    help: { job: "most processes the job may have at once", max: "most processes a job may ask for", default: "process limit of jobs that ask for none" } },
  { engine: "ioReadBps", api: "io_read_bps", flag: "io-read", label: "io read", unit: "bytes/s", integer: true, min: 1, max: Number.MAX_SAFE_INTEGER, parse: "bytes",
    help: { job: "disk read bandwidth limit per second on the server's data disk, e.g. 10M", max: "most disk read bandwidth per second a job may ask for, e.g. 50M", default: "read bandwidth limit of jobs that ask for none" } },
  { engine: "ioWriteBps", api: "io_write_bps", flag: "io-write", label: "io write", unit: "bytes/s", integer: true, min: 1, max: Number.MAX_SAFE_INTEGER, parse: "bytes",
    help: { job: "disk write bandwidth limit per second on the server's data disk, e.g. 10M", max: "most disk write bandwidth per second a job may ask for, e.g. 50M", default: "write bandwidth limit of jobs that ask for none" } },
] as const satisfies readonly LimitSpec[];

/** One row of {@link LIMITS}, precisely typed. */
export type LimitRow = (typeof LIMITS)[number];
/** A limit's engine name: `memoryBytes`, `cpus`, `pids`, `ioReadBps`, `ioWriteBps`. */
export type LimitName = LimitRow["engine"];
/** A limit's API name: `memory_bytes`, `cpus`, `pids`, `io_read_bps`, `io_write_bps`. */
export type ApiLimitName = LimitRow["api"];

/** Engine-named limits, each optional (the engine's `JobLimits`). */
export type EngineLimits = { [K in LimitName]?: number };
/** API-named limits, each optional (the `limits` object of `PUT /jobs` and of a record). */
export type ApiLimits = { [K in ApiLimitName]?: number };

/** The engine names, in table order. */
export const LIMIT_NAMES: readonly LimitName[] = LIMITS.map((l) => l.engine);

/** The row of a limit, by engine name. */
export const LIMIT_BY_ENGINE_NAME = Object.fromEntries(LIMITS.map((l) => [l.engine, l])) as { [K in LimitName]: Extract<LimitRow, { engine: K }> };

/** "an integer from 2 to 4194304": what a value of `limit` must be, for messages. */
export function describeLimitRange(limit: LimitSpec): string {
  return `${limit.integer ? "an integer" : "a number"} from ${limit.min} to ${limit.max}`;
}

/** API limits → engine limits (fields absent stay absent). */
export function engineLimitsOf(api: ApiLimits): EngineLimits {
  const limits: EngineLimits = {};
  for (const { engine, api: name } of LIMITS) if (api[name] !== undefined) limits[engine] = api[name];
  return limits;
}

/** Engine limits → API limits (fields absent stay absent). */
export function apiLimitsOf(engine: EngineLimits): ApiLimits {
  const limits: ApiLimits = {};
  for (const { engine: name, api } of LIMITS) if (engine[name] !== undefined) limits[api] = engine[name];
  return limits;
}

/** The longest job timeout (`timeout_ms`): what one Node timer can wait, about 24.8 days. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;
