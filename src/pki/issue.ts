import { LEAF_VALIDITY_DAYS, DEFAULT_SERVER_HOSTS } from "./defaults.js";
import { issueCert } from "./certificates.js";
import { assertWithinCa, loadCaFromDir, validateDays } from "./ca-files.js";
import { KEY_FILE_MODE, PUBLIC_FILE_MODE, refuseExisting, writeFilesAtomically } from "./files.js";
import type { PkiWriteResult } from "./init.js";
import { parseHost, validateClientName } from "./names.js";
import { pkiPaths } from "./paths.js";

/** Options of {@link issueClientCert}. */
export interface IssueClientOptions {
  dir: string;
  /** The client's identity: its CN and file name (validated). */
  name: string;
  /** Validity in days; default 365. */
  days?: number;
  /** Replace an existing certificate/key of that name. */
  force?: boolean;
}

/** Result of {@link issueClientCert} and {@link issueServerCert}. */
export interface IssueResult extends PkiWriteResult {
  certPath: string;
  keyPath: string;
  serial: string;
  notAfter: Date;
}

/**
 * Issues `clients/<name>.pem` and `.key`, signed by the directory's CA. Refuses
 * (`PKI_EXISTS`) when either exists and `force` is not set; `PKI_NO_CA` without a CA.
 */
export async function issueClientCert(options: IssueClientOptions): Promise<IssueResult & { name: string }> {
  const name = validateClientName(options.name);
  const days = validateDays(options.days ?? LEAF_VALIDITY_DAYS);
  const paths = pkiPaths(options.dir);
  const ca = await loadCaFromDir(options.dir);
  const certPath = paths.clientCert(name);
  const keyPath = paths.clientKey(name);
  await refuseExisting([keyPath, certPath], options.force);
  assertWithinCa(ca, days);

  const cert = await issueCert(ca, { kind: "client", commonName: name, days });
  await writeFilesAtomically([
    { path: keyPath, content: cert.keyPem, mode: KEY_FILE_MODE },
    { path: certPath, content: cert.certPem, mode: PUBLIC_FILE_MODE },
  ]);
  return { name, certPath, keyPath, serial: cert.serial, notAfter: cert.notAfter, written: [keyPath, certPath] };
}

/** Options of {@link issueServerCert}. */
export interface IssueServerOptions {
  dir: string;
  /** SANs; default localhost, 127.0.0.1, ::1. */
  hosts?: readonly string[];
  /** Validity in days; default 365. */
  days?: number;
  /** Replace the existing server certificate/key (needed whenever they exist). */
  force?: boolean;
}

/**
 * Re-issues only `server.pem`/`server.key` with the existing CA (new host names, or
 * rotation before expiry) without touching the CA or the clients.
 */
export async function issueServerCert(options: IssueServerOptions): Promise<IssueResult & { hosts: string[] }> {
  const hosts = [...new Set((options.hosts?.length ? options.hosts : DEFAULT_SERVER_HOSTS).map((h) => parseHost(h).value))];
  const days = validateDays(options.days ?? LEAF_VALIDITY_DAYS);
  const paths = pkiPaths(options.dir);
  const ca = await loadCaFromDir(options.dir);
  await refuseExisting([paths.serverKey, paths.serverCert], options.force);
  assertWithinCa(ca, days);

  const cert = await issueCert(ca, { kind: "server", hosts, days });
  await writeFilesAtomically([
    { path: paths.serverKey, content: cert.keyPem, mode: KEY_FILE_MODE },
    { path: paths.serverCert, content: cert.certPem, mode: PUBLIC_FILE_MODE },
  ]);
  return {
    certPath: paths.serverCert,
    keyPath: paths.serverKey,
    serial: cert.serial,
    notAfter: cert.notAfter,
    hosts,
    written: [paths.serverKey, paths.serverCert],
  };
}
