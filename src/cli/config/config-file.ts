// `<home>/config.json`: the client's contexts (docs/cli.md, "Contexts"). Read on every
// client command, so reading is one small synchronous file read and a hand-written shape
// check (no schema library on the start-up path); written only by `jobworker context …`,
// atomically (temporary file, fsync, rename) with mode 0600.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "./errors.js";

/** Where one context connects, and with which files (absolute paths). */
export interface ContextEntry {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

/** The contents of `<home>/config.json`. */
export interface ClientConfig {
  /** The context used when neither --context nor JOBWORKER_CONTEXT names one. */
  current_context?: string;
  contexts: Record<string, ContextEntry>;
}

/** `<home>/config.json`. */
export function configPath(home: string): string {
  return join(home, "config.json");
}

const FIELDS = ["server", "ca", "cert", "key"] as const;

/**
 * Reads `<home>/config.json`; `undefined` when there is none (everything then behaves as
 * without contexts). Throws `CONFIG_INVALID` naming the file and what is wrong.
 */
export function readConfig(home: string): ClientConfig | undefined {
  const path = configPath(home);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError("CONFIG_INVALID", `cannot read ${path}: ${(err as Error).message}`, { hint: "check its permissions", cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(path, `it is not JSON (${(err as Error).message})`, err);
  }
  return checkShape(value, path);
}

function checkShape(value: unknown, path: string): ClientConfig {
  if (!isObject(value)) throw invalid(path, "it is not a JSON object");
  const { contexts, current_context: current } = value;
  if (!isObject(contexts)) throw invalid(path, '"contexts" must be an object of contexts by name');
  for (const [name, entry] of Object.entries(contexts)) {
    if (!isObject(entry)) throw invalid(path, `context "${name}" must be an object`);
    for (const field of FIELDS) {
      if (typeof entry[field] !== "string" || entry[field] === "") throw invalid(path, `context "${name}" needs "${field}" (a non-empty string)`);
    }
  }
  if (current !== undefined && (typeof current !== "string" || !Object.hasOwn(contexts, current))) {
    throw invalid(path, `"current_context" must name one of its contexts`);
  }
  return value as unknown as ClientConfig;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(path: string, what: string, cause?: unknown): ConfigError {
  return new ConfigError("CONFIG_INVALID", `${path} is not a valid jobworker configuration: ${what}`, {
    hint: "fix it, or remove it and add the contexts again with `jobworker context add`",
    cause,
  });
}

/**
 * Writes `config` to `<home>/config.json` atomically with mode 0600 (creating `home`,
 * 0700, if needed): a reader sees the old file or the new one, never half of one.
 * Unknown top-level keys read from the file are kept.
 */
export async function writeConfig(home: string, config: ClientConfig): Promise<void> {
  // The PKI's writer (temporary file with O_EXCL, fsync, rename, fsync of the directory):
  // loaded here only, so that commands that merely read the file never load it.
  const { writeFilesAtomically, KEY_FILE_MODE } = await import("../../pki/files.js");
  await writeFilesAtomically([{ path: configPath(home), content: `${JSON.stringify(config, null, 2)}\n`, mode: KEY_FILE_MODE }]);
}

/**
 * The context named `name`. Throws `CONTEXT_NOT_FOUND`, listing the contexts there are,
 * when there is no such context (or no configuration at all).
 */
export function findContext(config: ClientConfig | undefined, name: string, home: string): ContextEntry {
  const entry = config && Object.hasOwn(config.contexts, name) ? config.contexts[name] : undefined;
  if (entry) return entry;
  const known = config ? Object.keys(config.contexts).sort() : [];
  throw new ConfigError("CONTEXT_NOT_FOUND", `no context named "${name}" in ${configPath(home)}`, {
    hint: known.length > 0 ? `known contexts: ${known.join(", ")}; \`jobworker context add\` adds one` : "`jobworker context add NAME --server URL` adds one",
  });
}
