import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
// Light modules only at load time: `jobworker serve`, `certs` and `--help` never need the
// HTTP client, so it is imported when a client command runs.
import type { JobworkerClient } from "../../client/index.js";
import { DEFAULT_CLIENT_NAME } from "../../pki/defaults.js";
import { DEFAULT_PORT } from "../../protocol/default-port.js";
import { defaultPkiDir, pkiPaths } from "../../pki/paths.js";
import { findContext, readConfig, type ClientConfig, type ContextEntry } from "../config/config-file.js";

/** The address `jobworker serve` listens on by default, so the defaults meet. */
export const DEFAULT_SERVER_URL = `https://127.0.0.1:${DEFAULT_PORT}`;

/** The options every client command accepts (docs/cli.md). */
export interface ClientFlags {
  context?: string;
  server?: string;
  ca?: string;
  cert?: string;
  key?: string;
  home?: string;
  json?: boolean;
}

/** Where a client command connects and with which files, after flags, env and defaults. */
export interface ClientSettings {
  url: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  home: string;
  /** The context these settings came from, if any (flags and environment may override parts). */
  context?: string;
}

/** Help text shared by the client commands: the environment and the defaults. */
export const CLIENT_ENV_HELP = `
Environment (flags win over environment, environment over the context, the context
over defaults; see \`jobworker context --help\`):
  JOBWORKER_CONTEXT context of <home>/config.json to use  (default: its current one)
  JOBWORKER_SERVER  server URL               (default ${DEFAULT_SERVER_URL})
  JOBWORKER_HOME    home directory           (default ~/.jobworker)
  JOBWORKER_CA      CA certificate file      (default <home>/pki/ca.pem)
  JOBWORKER_CERT    client certificate file  (default <home>/pki/clients/${DEFAULT_CLIENT_NAME}.pem)
  JOBWORKER_KEY     client key file          (default <home>/pki/clients/${DEFAULT_CLIENT_NAME}.key)`;

/** Adds the client options to a command. */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .option("--context <name>", "use this context of <home>/config.json (env JOBWORKER_CONTEXT)")
    .option("--server <url>", "server URL (env JOBWORKER_SERVER)")
    .option("--ca <file>", "CA certificate that signed the server's certificate (env JOBWORKER_CA)")
    .option("--cert <file>", "client certificate; its CN is your identity (env JOBWORKER_CERT)")
    .option("--key <file>", "client private key (env JOBWORKER_KEY)")
    .option("--home <dir>", "jobworker home holding pki/ and config.json (env JOBWORKER_HOME)")
    .option("--json", "print the API's JSON instead of text");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** The home of these flags: `--home`, else `JOBWORKER_HOME`, else `~/.jobworker`. */
export function resolveHome(flags: Pick<ClientFlags, "home">, env: NodeJS.ProcessEnv = process.env): string {
  const homeValue = nonEmpty(flags.home) ?? nonEmpty(env.JOBWORKER_HOME);
  return homeValue ? resolve(homeValue) : join(homedir(), ".jobworker");
}

/**
 * The context a command uses: `--context`, else `JOBWORKER_CONTEXT`, else the current one
 * of the configuration, else none. Throws `CONTEXT_NOT_FOUND` for a name it lacks.
 */
export function selectContext(
  flags: Pick<ClientFlags, "context">,
  env: NodeJS.ProcessEnv,
  config: ClientConfig | undefined,
  home: string,
): { name: string; entry: ContextEntry } | undefined {
  const name = nonEmpty(flags.context) ?? nonEmpty(env.JOBWORKER_CONTEXT) ?? config?.current_context;
  return name === undefined ? undefined : { name, entry: findContext(config, name, home) };
}

/**
 * Resolves where to connect and which files to use, each setting on its own: a flag beats
 * the environment, which beats the context (docs/cli.md, "Contexts"), which beats the
 * defaults. The defaults are the files `jobworker serve` creates in the same home, so on
 * one machine the client works with no options at all, and with no `<home>/config.json`
 * there is no context layer.
 */
export function resolveClientSettings(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const home = resolveHome(flags, env);
  const context = selectContext(flags, env, readConfig(home), home);
  return settingsFor(flags, env, home, context);
}

/**
 * The settings of one context under `flags` and `env` (what `run --on` uses per host):
 * the same layers as {@link resolveClientSettings}, with `context` in place of the
 * selected one. `serverFromContextOnly` skips `--server` and `JOBWORKER_SERVER`, since a
 * fan-out's hosts are its contexts' servers.
 */
export function settingsFor(
  flags: ClientFlags,
  env: NodeJS.ProcessEnv,
  home: string,
  context: { name: string; entry: ContextEntry } | undefined,
  { serverFromContextOnly = false } = {},
): ClientSettings {
  const pki = pkiPaths(defaultPkiDir(home));
  const ctx = context?.entry;
  const server = serverFromContextOnly ? ctx?.server : (nonEmpty(flags.server) ?? nonEmpty(env.JOBWORKER_SERVER) ?? ctx?.server);
  return {
    url: server ?? DEFAULT_SERVER_URL,
    caFile: resolve(nonEmpty(flags.ca) ?? nonEmpty(env.JOBWORKER_CA) ?? ctx?.ca ?? pki.caCert),
    certFile: resolve(nonEmpty(flags.cert) ?? nonEmpty(env.JOBWORKER_CERT) ?? ctx?.cert ?? pki.clientCert(DEFAULT_CLIENT_NAME)),
    keyFile: resolve(nonEmpty(flags.key) ?? nonEmpty(env.JOBWORKER_KEY) ?? ctx?.key ?? pki.clientKey(DEFAULT_CLIENT_NAME)),
    home,
    ...(context && { context: context.name }),
  };
}

/** Reads the credential files and opens a client for a command's options. */
export async function openClient(flags: ClientFlags): Promise<JobworkerClient> {
  return openClientWith(resolveClientSettings(flags));
}

/** Reads the credential files of `settings` and opens a client with them. */
export async function openClientWith(settings: ClientSettings): Promise<JobworkerClient> {
  const { JobworkerClient, loadCredentials } = await import("../../client/index.js");
  const creds = await loadCredentials(settings);
  return new JobworkerClient({ url: settings.url, ...creds, labels: { cert: settings.certFile, ca: settings.caFile } });
}

/** Runs `body` with a client for these options and always closes it. */
export async function withClient<T>(flags: ClientFlags, body: (client: JobworkerClient) => Promise<T>): Promise<T> {
  const client = await openClient(flags);
  try {
    return await body(client);
  } finally {
    // destroy, not close: by now every answer we need is in, and a stream still open
    // (one follower failed, the other not) must not keep the process alive.
    await client.destroy().catch(() => {});
  }
}
