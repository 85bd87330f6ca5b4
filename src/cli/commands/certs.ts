// `jobworker certs …`: the certificate tool. The work is done by src/pki; this file only
// turns flags into library calls and results into a short summary, one file per line.
import { resolve } from "node:path";
import type { Command } from "commander";
// Only light modules at load time; the certificate code (x509, webcrypto) is imported by
// the action that needs it, so other commands start fast.
import { CA_VALIDITY_DAYS, DEFAULT_CLIENT_NAME, DEFAULT_SERVER_HOSTS, LEAF_VALIDITY_DAYS } from "../../pki/defaults.js";
import { defaultPkiDir, pkiPaths } from "../../pki/paths.js";
import { printRows } from "../format/print.js";
import { integerParser } from "../options/numbers.js";
import { collect } from "../options/repeatable.js";

const loadPki = () => import("../../pki/index.js");

const parseDays = integerParser(1, undefined, "days");

/** Options every `certs` subcommand accepts. */
interface DirOptions {
  dir?: string;
  home?: string;
}

/** Registers `jobworker certs init|issue|server|revoke`. */
export function registerCertsCommands(program: Command): void {
  const certs = program
    .command("certs")
    .description("create and manage the CA, server and client certificates (see docs/pki.md)");

  withDirOptions(
    certs
      .command("init")
      .description(
        `create a CA (${CA_VALIDITY_DAYS} days), a server certificate, client certificates and an empty CRL`,
      )
      .option("--host <name>", `server DNS name or IP address, repeatable (default: ${DEFAULT_SERVER_HOSTS.join(", ")})`, collect)
      .option("--client <name>", `client certificate to issue, repeatable (default: "${DEFAULT_CLIENT_NAME}")`, collect)
      .option("--days <n>", `validity of the server and client certificates (default: ${LEAF_VALIDITY_DAYS})`, parseDays)
      .option("--force", "replace existing keys and certificates (creates a new CA)"),
  ).action(
    async (opts: DirOptions & { host?: string[]; client?: string[]; days?: number; force?: boolean }) => {
      const dir = pkiDir(opts);
      const paths = pkiPaths(dir);
      const result = await (await loadPki()).initPki({ dir, hosts: opts.host, clients: opts.client, days: opts.days, force: opts.force });
      printRows([
        ["CA certificate", paths.caCert],
        ["CA key", paths.caKey],
        ["server certificate", `${paths.serverCert}  (${result.hosts.join(", ")})`],
        ["server key", paths.serverKey],
        ...result.clients.flatMap((c): [string, string][] => [
          [`client ${c.name}`, c.certPath],
          [`client ${c.name} key`, c.keyPath],
        ]),
        ["revocation list", paths.crl],
      ]);
    },
  );

  withDirOptions(
    certs
      .command("issue")
      .description("issue a client certificate clients/NAME.pem signed by the existing CA (NAME becomes its CN, the identity)")
      .argument("<name>", "client name: letters, digits, . _ - @ (1-64 characters)")
      .option("--days <n>", `validity in days (default: ${LEAF_VALIDITY_DAYS})`, parseDays)
      .option("--force", "replace an existing certificate and key of that name"),
  ).action(
    async (name: string, opts: DirOptions & { days?: number; force?: boolean }) => {
      const result = await (await loadPki()).issueClientCert({ dir: pkiDir(opts), name, days: opts.days, force: opts.force });
      printRows([
        [`client ${result.name}`, `${result.certPath}  (until ${day(result.notAfter)})`],
        [`client ${result.name} key`, result.keyPath],
      ]);
    },
  );

  withDirOptions(
    certs
      .command("server")
      .description("re-issue only the server certificate with the existing CA (new host names, or renewal)")
      .option("--host <name>", `DNS name or IP address, repeatable (default: ${DEFAULT_SERVER_HOSTS.join(", ")})`, collect)
      .option("--days <n>", `validity in days (default: ${LEAF_VALIDITY_DAYS})`, parseDays)
      .option("--force", "replace the existing server certificate and key"),
  ).action(
    async (opts: DirOptions & { host?: string[]; days?: number; force?: boolean }) => {
      const result = await (await loadPki()).issueServerCert({ dir: pkiDir(opts), hosts: opts.host, days: opts.days, force: opts.force });
      printRows([
        ["server certificate", `${result.certPath}  (${result.hosts.join(", ")}; until ${day(result.notAfter)})`],
        ["server key", result.keyPath],
      ]);
    },
  );

  withDirOptions(
    certs
      .command("revoke")
      .description("revoke a client certificate: adds its serial to crl.pem (enforced by serve --crl)")
      .argument("<name>", "client name")
      .option("--cert <file>", "revoke this certificate file (CN must be NAME) instead of clients/NAME.pem"),
  ).action(
    async (name: string, opts: DirOptions & { cert?: string }) => {
      const result = await (await loadPki()).revokeClientCert({
        dir: pkiDir(opts),
        name,
        certFile: opts.cert === undefined ? undefined : resolve(opts.cert),
      });
      const count = result.revokedSerials.length;
      const listed = `${count} revoked certificate${count === 1 ? "" : "s"}`;
      process.stdout.write(
        result.alreadyRevoked
          ? `${result.name} (serial ${result.serial}) was already revoked; ${result.crlPath} unchanged (${listed})\n`
          : `revoked ${result.name} (serial ${result.serial}); ${result.crlPath} now lists ${listed}\n` +
              "a running server enforces it after SIGHUP (which also closes that client's open connections) or a restart\n",
      );
    },
  );
}

function withDirOptions(command: Command): Command {
  return command
    .option("--dir <dir>", "PKI directory (default: $JOBWORKER_HOME/pki, ~/.jobworker/pki)")
    .option("--home <dir>", "jobworker home; the PKI directory is HOME/pki");
}

/** `--dir`, else `--home`/pki, else $JOBWORKER_HOME/pki or ~/.jobworker/pki. */
function pkiDir(opts: DirOptions): string {
  if (opts.dir) return resolve(opts.dir);
  return opts.home ? defaultPkiDir(resolve(opts.home)) : defaultPkiDir();
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}
