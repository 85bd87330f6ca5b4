// Parsing of resource-limit values on the command line, shared by `serve` (defaults and
// maxima) and `start`/`run` (a job's own limits): `256M`, `1.5G`, `0.5` CPUs, `64` pids.
import { InvalidArgumentError, type Command } from "commander";
// The protocol's limits table (the engine and the server check requests against the same
// one), so that the CLI refuses exactly what the server would, as a usage error (exit 2),
// before sending anything, and so that each row of the table is a flag. A leaf module of
// constants: bundled into the CLI, nothing else is loaded.
import { LIMITS, type ApiLimits, type EngineLimits, type LimitRow } from "../../protocol/limits.js";
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


/** "io-read" → "ioRead", as commander names an option's value. */
type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;

/** The limits as flags give them: `memory`, `cpus`, `pids`, `ioRead`, `ioWrite` (one per row of the table). */
export type LimitFlags = { [R in LimitRow as Camel<R["flag"]>]?: number };

/** The {@link LimitFlags} key of a row. */
function keyOf(row: LimitRow): keyof LimitFlags {
  return row.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof LimitFlags;
}

/** Engine-named limits (memoryBytes, cpus, pids, ioReadBps, ioWriteBps) from flags; undefined for none. */
export function engineLimitsOf(flags: LimitFlags): EngineLimits | undefined {
  return renamedLimits(flags, "engine");
}

/** API-named limits (memory_bytes, cpus, pids, io_read_bps, io_write_bps), for `PUT /jobs`; undefined for none. */
export function apiLimitsOf(flags: LimitFlags): ApiLimits | undefined {
  return renamedLimits(flags, "api");
}

function renamedLimits(flags: LimitFlags, naming: "engine" | "api"): Record<string, number> | undefined {
  const limits: Record<string, number> = {};
  for (const row of LIMITS) {
    const value = flags[keyOf(row)];
    if (value !== undefined) limits[row[naming]] = value;
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

const PARSERS: Record<LimitRow["parse"], [parse: (value: string) => number, placeholder: string]> = {
  bytes: [parseBytes, "<size>"],
  fraction: [parseCpus, "<n>"],
  count: [parsePositiveInt, "<n>"],
};

/** The row's value parser, then its lower bound, said in the units people type. */
function atLeastMinimum(row: LimitRow): (value: string) => number {
  const { min, unit } = row;
  const parse = PARSERS[row.parse][0];
  const mib = 1024 * 1024;
  const shown = unit.startsWith("bytes") && min >= mib && min % mib === 0 ? `${min / mib}M (${min} ${unit})` : `${min} ${unit}`;
  return (value: string) => {
    const n = parse(value);
    if (n < min) throw new InvalidArgumentError(`expected at least ${shown}`);
    if (n > row.max) throw new InvalidArgumentError(`expected at most ${row.max} ${unit}`);
    return n;
  };
}

/** "" for a job's own limits (`--memory`), "max" or "default" for serve's (`--max-memory`). */
export type LimitPrefix = "" | "max" | "default";

/**
 * Adds one option per limit of the table to a command, as `--[PREFIX-]memory`,
 * `--[PREFIX-]cpus`… with the table's help for that prefix.
 */
export function addLimitOptions(cmd: Command, prefix: LimitPrefix): Command {
  for (const row of LIMITS) {
    cmd.option(`--${prefix ? `${prefix}-` : ""}${row.flag} ${PARSERS[row.parse][1]}`, row.help[prefix || "job"], atLeastMinimum(row));
  }
  return cmd;
}

/** The values of the options `addLimitOptions` added with `prefix`, from commander's flags. */
export function limitFlagsOf(flags: object, prefix: LimitPrefix): LimitFlags {
  const values = flags as Record<string, number | undefined>;
  const limits: LimitFlags = {};
  for (const row of LIMITS) {
    const key = keyOf(row);
    const value = values[prefix ? `${prefix}${key[0]!.toUpperCase()}${key.slice(1)}` : key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}
