// Values of options that may be given more than once.
import { InvalidArgumentError } from "commander";

/**
 * Collects a repeatable option's values in order. No default value is given to
 * commander, so that help does not print "(default: [])".
 */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Collects `--label KEY=VALUE` into a labels object; a later KEY wins (the server checks the rules). */
export function collectLabels(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError("expected KEY=VALUE");
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** Collects `-e NAME=VALUE` into an environment object; a later NAME wins. */
export function collectEnv(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError("expected NAME=VALUE");
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}
