import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
// Light modules only at load time: `jobworker serve`, `certs` and `--help` never need the
// HTTP client, so it is imported when a client command runs.
import type { JobworkerClient } from "../../client/index.js";
import { DEFAULT_CLIENT_NAME } from "../../pki/defaults.js";
import { defaultPkiDir, pkiPaths } from "../../pki/paths.js";

/** The address `jobworker serve` listens on by default, so the defaults meet. */
export const DEFAULT_SERVER_URL = "https://127.0.0.1:8443";

/** The options every client command accepts (docs/cli.md). */
export interface ClientFlags {
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
}

/** Help text shared by the client commands: the environment and the defaults. */
export const CLIENT_ENV_HELP = `
Environment (flags win over environment, environment over defaults):
  JOBWORKER_SERVER  server URL               (default ${DEFAULT_SERVER_URL})
  JOBWORKER_HOME    home directory           (default ~/.jobworker)
  JOBWORKER_CA      CA certificate file      (default <home>/pki/ca.pem)
  JOBWORKER_CERT    client certificate file  (default <home>/pki/clients/${DEFAULT_CLIENT_NAME}.pem)
  JOBWORKER_KEY     client key file          (default <home>/pki/clients/${DEFAULT_CLIENT_NAME}.key)`;

/** Adds the client options to a command. */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .option("--server <url>", "server URL (env JOBWORKER_SERVER)")
    .option("--ca <file>", "CA certificate that signed the server's certificate (env JOBWORKER_CA)")
    .option("--cert <file>", "client certificate; its CN is your identity (env JOBWORKER_CERT)")
    .option("--key <file>", "client private key (env JOBWORKER_KEY)")
    .option("--home <dir>", "jobworker home holding pki/ (env JOBWORKER_HOME)")
    .option("--json", "print the API's JSON instead of text");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Resolves where to connect and which files to use: flags beat environment beat
 * defaults. The defaults are the files `jobworker serve` creates in the same home, so
 * on one machine the client works with no options at all.
 */
export function resolveClientSettings(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const homeValue = nonEmpty(flags.home) ?? nonEmpty(env.JOBWORKER_HOME);
  const home = homeValue ? resolve(homeValue) : join(homedir(), ".jobworker");
  const pki = pkiPaths(defaultPkiDir(home));
  return {
    url: nonEmpty(flags.server) ?? nonEmpty(env.JOBWORKER_SERVER) ?? DEFAULT_SERVER_URL,
    caFile: resolve(nonEmpty(flags.ca) ?? nonEmpty(env.JOBWORKER_CA) ?? pki.caCert),
    certFile: resolve(nonEmpty(flags.cert) ?? nonEmpty(env.JOBWORKER_CERT) ?? pki.clientCert(DEFAULT_CLIENT_NAME)),
    keyFile: resolve(nonEmpty(flags.key) ?? nonEmpty(env.JOBWORKER_KEY) ?? pki.clientKey(DEFAULT_CLIENT_NAME)),
    home,
  };
}

/** Reads the credential files and opens a client for a command's options. */
export async function openClient(flags: ClientFlags): Promise<JobworkerClient> {
  const settings = resolveClientSettings(flags);
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
