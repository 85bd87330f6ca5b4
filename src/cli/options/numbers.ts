// Whole-number option values (`--limit 20`, `--days 30`, `--stop-grace-ms 0`…): one parser
// for all of them, so every integer flag accepts the same spellings and refuses the same
// way, with the bounds in words.
import { InvalidArgumentError } from "commander";

/** The largest value an integer flag accepts unless it says otherwise: nine digits. */
export const MAX_INTEGER_OPTION = 999_999_999;

/**
 * A parser for a whole number from `min` to `max` written in decimal digits (no sign, no
 * exponent, no leading zeros), for commander's option callbacks. `unit` names what is
 * counted in the message ("days").
 */
export function integerParser(min: number, max: number = MAX_INTEGER_OPTION, unit?: string): (value: string) => number {
  const what = unit ? `a whole number of ${unit}` : "a whole number";
  const bounds = max === MAX_INTEGER_OPTION ? `, at least ${min}` : ` from ${min} to ${max}`;
  return (value: string) => {
    const trimmed = value.trim();
    const n = /^(0|[1-9]\d{0,14})$/.test(trimmed) ? Number(trimmed) : NaN;
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(`expected ${what}${bounds}`);
    return n;
  };
}

/** 1, 2, 3…: counts of jobs, processes, days. */
export const parsePositiveInt = integerParser(1);

/** 0, 1, 2…: durations in milliseconds where 0 means "at once". */
export const parseNonNegativeInt = integerParser(0);
