import { CA_VALIDITY_DAYS, DEFAULT_CLIENT_NAME, DEFAULT_SERVER_HOSTS, LEAF_VALIDITY_DAYS } from "./defaults.js";
import { createCa, issueCert } from "./certificates.js";
import { createCrl } from "./crl.js";
import { assertWithinCa, validateDays } from "./ca-files.js";
import { KEY_FILE_MODE, PUBLIC_FILE_MODE, ensureDir, exists, refuseExisting, writeFilesAtomically, type PlannedFile } from "./files.js";
import { parseHost, validateClientName } from "./names.js";
import { defaultPkiDir, pkiPaths } from "./paths.js";

/** Options of {@link initPki}. */
export interface InitPkiOptions {
  /** The PKI directory (created with mode 0700 when missing). */
  dir: string;
  /** Server SANs (DNS names, IPv4, IPv6); default localhost, 127.0.0.1, ::1. */
  hosts?: readonly string[];
  /** Client certificates to issue; default [DEFAULT_CLIENT_NAME] ("default"). */
  clients?: readonly string[];
  /** Validity of the server and client certificates in days; default 365. */
  days?: number;
  /** Replace existing files instead of refusing. */
  force?: boolean;
}

/** What a command wrote: paths for the summary, serials for records. */
export interface PkiWriteResult {
  /** Every file written, in order. */
  written: string[];
}

/** Result of {@link initPki}. */
export interface InitPkiResult extends PkiWriteResult {
  dir: string;
  caSerial: string;
  serverSerial: string;
  /** The server certificate's SANs, canonicalised. */
  hosts: string[];
  clients: { name: string; serial: string; certPath: string; keyPath: string }[];
}

/**
 * Creates a PKI directory: a root CA (10 years), a server certificate, one client
 * certificate per name and an empty CRL. Validates every input and refuses (with
 * `PKI_EXISTS`) when any target file exists and `force` is not set, all before
 * writing anything.
 */
export async function initPki(options: InitPkiOptions): Promise<InitPkiResult> {
  const paths = pkiPaths(options.dir);
  const clients = [...new Set((options.clients?.length ? options.clients : [DEFAULT_CLIENT_NAME]).map(validateClientName))];
  const hosts = (options.hosts?.length ? options.hosts : DEFAULT_SERVER_HOSTS).map((h) => parseHost(h).value);
  const days = validateDays(options.days ?? LEAF_VALIDITY_DAYS);

  await refuseExisting(
    [
      paths.caKey,
      paths.caCert,
      paths.serverKey,
      paths.serverCert,
      ...clients.flatMap((name) => [paths.clientKey(name), paths.clientCert(name)]),
      paths.crl,
    ],
    options.force,
  );

  const ca = await createCa({ days: CA_VALIDITY_DAYS });
  assertWithinCa(ca, days);
  const server = await issueCert(ca, { kind: "server", hosts, days });
  const issued = await Promise.all(clients.map(async (name) => ({ name, cert: await issueCert(ca, { kind: "client", commonName: name, days }) })));
  const crl = await createCrl(ca, []);

  const files: PlannedFile[] = [
    { path: paths.caKey, content: ca.keyPem, mode: KEY_FILE_MODE },
    { path: paths.caCert, content: ca.certPem, mode: PUBLIC_FILE_MODE },
    { path: paths.serverKey, content: server.keyPem, mode: KEY_FILE_MODE },
    { path: paths.serverCert, content: server.certPem, mode: PUBLIC_FILE_MODE },
    ...issued.flatMap(({ name, cert }) => [
      { path: paths.clientKey(name), content: cert.keyPem, mode: KEY_FILE_MODE },
      { path: paths.clientCert(name), content: cert.certPem, mode: PUBLIC_FILE_MODE },
    ]),
    { path: paths.crl, content: crl, mode: PUBLIC_FILE_MODE },
  ];
  await ensureDir(paths.dir);
  await ensureDir(paths.clientsDir);
  await writeFilesAtomically(files);

  return {
    dir: paths.dir,
    written: files.map((f) => f.path),
    caSerial: ca.serial,
    serverSerial: server.serial,
    hosts: [...new Set(hosts)],
    clients: issued.map(({ name, cert }) => ({
      name,
      serial: cert.serial,
      certPath: paths.clientCert(name),
      keyPath: paths.clientKey(name),
    })),
  };
}

/**
 * The embedded default of `jobworker serve`: when `<home>/pki/ca.pem` is missing,
 * creates the development PKI there with every default (and returns true, so the
 * caller can say so in one line); when it exists, does nothing and returns false.
 */
export async function ensureDevPki(home: string): Promise<boolean> {
  const dir = defaultPkiDir(home);
  if (await exists(pkiPaths(dir).caCert)) return false;
  await initPki({ dir });
  return true;
}
