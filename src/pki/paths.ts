import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The jobworker home: `$JOBWORKER_HOME` when set and non-empty, else `~/.jobworker`.
 * Holds `pki/` and `data/`.
 */
export function defaultHome(): string {
  const fromEnv = process.env.JOBWORKER_HOME;
  return fromEnv ? resolve(fromEnv) : join(homedir(), ".jobworker");
}

/** The PKI directory of a home (default: {@link defaultHome}): `<home>/pki`. */
export function defaultPkiDir(home: string = defaultHome()): string {
  return join(home, "pki");
}

/** Where each file of a PKI directory lives. */
export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** The certificate revocation list, always present after `certs init`. */
  crl: string;
  clientsDir: string;
  clientCert(name: string): string;
  clientKey(name: string): string;
}

/**
 * The file layout of a PKI directory (a contract: the server and the client find their
 * files here). `clientCert`/`clientKey` do not validate the name: call
 * `validateClientName` first when it comes from outside.
 */
export function pkiPaths(dir: string): PkiPaths {
  const clientsDir = join(dir, "clients");
  return {
    dir,
    caCert: join(dir, "ca.pem"),
    caKey: join(dir, "ca.key"),
    serverCert: join(dir, "server.pem"),
    serverKey: join(dir, "server.key"),
    crl: join(dir, "crl.pem"),
    clientsDir,
    clientCert: (name) => join(clientsDir, `${name}.pem`),
    clientKey: (name) => join(clientsDir, `${name}.key`),
  };
}
