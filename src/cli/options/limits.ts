// Parsing of resource-limit values on the command line, shared by `serve` (defaults and
// maxima) and `start`/`run` (a job's own limits): `256M`, `1.5G`, `0.5` CPUs, `64` pids.
import { InvalidArgumentError, type Command } from "commander";
// The engine's table of limits (the server checks requests against the same one), so
// that the CLI refuses exactly what the server would, as a usage error (exit 2), before
// sending anything. A small module: the engine itself is not loaded.
import { LIMIT_RULES, type LimitName } from "../../engine/cgroups/limits.js";
import { parsePositiveInt } from "./numbers.js";

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Bytes: a number with an optional binary suffix K, M, G or T (also KiB, MB…: all powers of 1024). */
export function parseBytes(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(value.trim());
  const bytes = match ? Math.round(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!) : NaN;
  if (!match || !Number.isSafeInteger(bytes) || bytes < 1) throw new InvalidArgumentError("expected a size in bytes, e.g. 268435456, 256M or 1G");
  return bytes;
}

/** A fraction of CPU cores, e.g. 0.5 or 2. */
export function parseCpus(value: string): number {
  const cpus = /^\d+(?:\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!(cpus > 0)) throw new InvalidArgumentError("expected a number of CPUs, e.g. 0.5 or 2");
  return cpus;
}


/** The five limits as flags give them. */
export interface LimitFlags {
  memory?: number;
  cpus?: number;
  pids?: number;
  ioRead?: number;
  ioWrite?: number;
}

/** Engine-named limits (memoryBytes, cpus, pids, ioReadBps, ioWriteBps) from flags; undefined for none. */
export function engineLimitsOf(flags: LimitFlags): Partial<Record<LimitName, number>> | undefined {
  return renamedLimits(flags, "engine");
}

/** API-named limits (memory_bytes, cpus, pids, io_read_bps, io_write_bps), for `PUT /jobs`; undefined for none. */
export function apiLimitsOf(flags: LimitFlags): Partial<Record<ApiLimitName, number>> | undefined {
  return renamedLimits(flags, "api");
}

function renamedLimits<K extends "engine" | "api">(flags: LimitFlags, naming: K): Partial<Record<(typeof LIMIT_OPTIONS)[number][K], number>> | undefined {
  const limits: Partial<Record<string, number>> = {};
  for (const option of LIMIT_OPTIONS) {
    const value = flags[option.key];
    if (value !== undefined) limits[option[naming]] = value;
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/** `parse`, then the engine's lower bound for `limit`, said in the units people type. */
function atLeastEngineMinimum(parse: (value: string) => number, limit: LimitName): (value: string) => number {
  const { min, unit } = LIMIT_RULES[limit];
  const mib = 1024 * 1024;
  const shown = unit.startsWith("bytes") && min >= mib && min % mib === 0 ? `${min / mib}M (${min} ${unit})` : `${min} ${unit}`;
  return (value: string) => {
    const n = parse(value);
    if (n < min) throw new InvalidArgumentError(`expected at least ${shown}`);
    return n;
  };
}

/** The five limit options: their flag stem, their LimitFlags key, their engine and API names, and their value parser. */
const LIMIT_OPTIONS = [
  { stem: "memory", key: "memory", engine: "memoryBytes", api: "memory_bytes", value: "<size>", parse: atLeastEngineMinimum(parseBytes, "memoryBytes") },
  { stem: "cpus", key: "cpus", engine: "cpus", api: "cpus", value: "<n>", parse: atLeastEngineMinimum(parseCpus, "cpus") },
  { stem: "pids", key: "pids", engine: "pids", api: "pids", value: "<n>", parse: atLeastEngineMinimum(parsePositiveInt, "pids") },
  { stem: "io-read", key: "ioRead", engine: "ioReadBps", api: "io_read_bps", value: "<size>", parse: atLeastEngineMinimum(parseBytes, "ioReadBps") },
  { stem: "io-write", key: "ioWrite", engine: "ioWriteBps", api: "io_write_bps", value: "<size>", parse: atLeastEngineMinimum(parseBytes, "ioWriteBps") },
] as const;

type ApiLimitName = (typeof LIMIT_OPTIONS)[number]["api"];

/** "" for a job's own limits (`--memory`), "max" or "default" for serve's (`--max-memory`). */
export type LimitPrefix = "" | "max" | "default";

/**
 * Adds the five limit options to a command, as `--[PREFIX-]memory`, `--[PREFIX-]cpus`,
 * `--[PREFIX-]pids`, `--[PREFIX-]io-read` and `--[PREFIX-]io-write`, each with its
 * description from `describe`.
 */
export function addLimitOptions(cmd: Command, prefix: LimitPrefix, describe: Record<keyof LimitFlags, string>): Command {
  for (const option of LIMIT_OPTIONS) {
    cmd.option(`--${prefix ? `${prefix}-` : ""}${option.stem} ${option.value}`, describe[option.key], option.parse);
  }
  return cmd;
}

/** The values of the options `addLimitOptions` added with `prefix`, from commander's flags. */
export function limitFlagsOf(flags: object, prefix: LimitPrefix): LimitFlags {
  const values = flags as Record<string, number | undefined>;
  const limits: LimitFlags = {};
  for (const { key } of LIMIT_OPTIONS) {
    const value = values[prefix ? `${prefix}${key[0]!.toUpperCase()}${key.slice(1)}` : key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}
