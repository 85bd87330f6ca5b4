// Reads a systemd unit file the way the tests need it: sections of keys, each key with
// every value it was given (a key may repeat), continuation lines joined. Command lines
// are split into words; anything this small reader would get wrong (quotes, specifiers,
// variables other than $MAINPID) is refused rather than misread.
import { readFileSync } from "node:fs";

/** A unit file: section name → key → its values in order. */
export type UnitFile = Map<string, Map<string, string[]>>;

/** Parses the unit file at `path`. */
export function readUnitFile(path: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = readFileSync(path, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    // A trailing backslash continues the value on the next line (systemd.syntax(7)).
    while (line.endsWith("\\") && i + 1 < lines.length) line = `${line.slice(0, -1).trimEnd()} ${lines[++i]!.trim()}`;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf("=");
    if (!section || eq < 1) throw new Error(`${path}:${i + 1}: not a key=value line inside a section: ${line}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** The single value of `key` in `section`; throws when it is missing or given twice. */
export function single(unit: UnitFile, section: string, key: string): string {
  const values = unit.get(section)?.get(key) ?? [];
  if (values.length !== 1) throw new Error(`[${section}] ${key}= is given ${values.length} times, expected once`);
  return values[0]!;
}

/** A command line of Exec*=: its prefix characters ("+", "-", …) and its words. */
export interface UnitCommand {
  prefixes: string;
  argv: string[];
}

/** Splits an Exec*= value into its prefixes and words; refuses quoting and specifiers. */
export function parseCommand(value: string): UnitCommand {
  const prefixes = /^[-@:+!]*/.exec(value)![0];
  const rest = value.slice(prefixes.length);
  if (/["'%]/.test(rest) || /\$(?!MAINPID\b)/.test(rest)) {
    throw new Error(`this test reads plain words only; teach it quoting, specifiers or variables first: ${value}`);
  }
  return { prefixes, argv: rest.split(/\s+/).filter(Boolean) };
}
