// `--on web1,web2` / `--on all`: the contexts a fan-out command talks to, each with the
// settings of its own context (docs/cli.md, "Fan-out").
import { UserError } from "../../user-error.js";
import { findContext, readConfig } from "../config/config-file.js";
import { ALL_CONTEXTS } from "../config/context-name.js";
import { ConfigError } from "../config/errors.js";
import { resolveHome, settingsFor, type ClientFlags, type ClientSettings } from "../options/client.js";

/** One host of a fan-out: its context's name and where and how to connect. */
export interface Target {
  name: string;
  settings: ClientSettings;
}

/** Default of `--parallel`: hosts worked on at once. */
export const DEFAULT_PARALLEL = 32;

/** A usage mistake in a fan-out command line (exit 2). */
export function fanOutUsage(message: string, command: string): UserError {
  return new UserError("USAGE", message, { exitCode: 2, hint: `see \`jobworker ${command} --help\`` });
}

/**
 * The targets of `--on LIST`: the contexts named (comma-separated, duplicates once, in
 * the order given) or every context for `all` (by name). Each host's server is its
 * context's; the CA, certificate and key follow the usual layers (a flag, else the
 * environment, else the context). Throws before anything is started: unknown contexts
 * (`CONTEXT_NOT_FOUND`), an empty list, or `--server`/`--context`, which contradict `--on`.
 */
export function resolveTargets(on: string, flags: ClientFlags, command: string, env: NodeJS.ProcessEnv = process.env): Target[] {
  if (flags.server !== undefined) throw fanOutUsage("--server cannot be used with --on: each host is its context's server", command);
  if (flags.context !== undefined) throw fanOutUsage("--context cannot be used with --on: --on names the contexts", command);
  const home = resolveHome(flags, env);
  const config = readConfig(home);
  const words = on.split(",").map((w) => w.trim());
  if (words.some((w) => w === "")) throw fanOutUsage(`--on takes context names separated by commas, or "${ALL_CONTEXTS}": ${JSON.stringify(on)}`, command);
  let names: string[];
  if (words.length === 1 && words[0] === ALL_CONTEXTS) {
    names = Object.keys(config?.contexts ?? {}).sort();
    if (names.length === 0) {
      throw new ConfigError("CONTEXT_NOT_FOUND", `--on ${ALL_CONTEXTS}: there are no contexts`, { hint: "`jobworker context add NAME --server URL` adds one" });
    }
  } else {
    names = [...new Set(words)];
  }
  return names.map((name) => ({
    name,
    settings: settingsFor(flags, env, home, { name, entry: findContext(config, name, home) }, { serverFromContextOnly: true }),
  }));
}
