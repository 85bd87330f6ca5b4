// Durations on the command line: a whole number and a unit, `30s`, `5m`, `12h`, `7d`
// (`serve --retain 7d`, and any flag that takes a time span).
import { InvalidArgumentError } from "commander";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds for `30s`, `5m`, `12h` or `7d` (1 to 9,999,999 units); undefined for anything else. */
export function durationMs(text: string): number | undefined {
  const match = /^([1-9]\d{0,6})([smhd])$/.exec(text.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2]!]! : undefined;
}

/** commander parser for a duration flag. */
export function parseDuration(value: string): number {
  const ms = durationMs(value);
  if (ms === undefined) throw new InvalidArgumentError("expected a duration: a whole number and s, m, h or d, e.g. 30s, 5m, 1h or 7d");
  return ms;
}
