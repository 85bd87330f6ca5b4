import { x509 } from "./crypto.js";
import { loadCaFromDir } from "./ca-files.js";
import { createCrl, normalizeSerial, readCrl, type CrlContent } from "./crl.js";
import { PkiError } from "./errors.js";
import { PUBLIC_FILE_MODE, exists, readText, writeFilesAtomically } from "./files.js";
import type { PkiWriteResult } from "./init.js";
import { validateClientName } from "./names.js";
import { pkiPaths } from "./paths.js";

/** Options of {@link revokeClientCert}. */
export interface RevokeClientOptions {
  dir: string;
  /** The client's name: revokes `clients/<name>.pem` unless `certFile` is given. */
  name: string;
  /**
   * Revoke this certificate file instead (e.g. a copy of the old certificate kept
   * while rotating); its CN must still be `name`.
   */
  certFile?: string;
}

/** Result of {@link revokeClientCert}. */
export interface RevokeResult extends PkiWriteResult {
  name: string;
  serial: string;
  crlPath: string;
  /** The serial was already in the CRL; nothing was written. */
  alreadyRevoked: boolean;
  /** Every serial the CRL now lists. */
  revokedSerials: string[];
}

/**
 * Adds a client certificate's serial to `crl.pem`: a fresh CRL signed by the CA,
 * listing every serial revoked before (read back from the current CRL, which is the
 * record) plus this one, with the next CRL number. The certificate file stays in
 * place; re-issuing that name needs `force`.
 */
export async function revokeClientCert(options: RevokeClientOptions): Promise<RevokeResult> {
  const name = validateClientName(options.name);
  const paths = pkiPaths(options.dir);
  const ca = await loadCaFromDir(options.dir);
  const certPath = options.certFile ?? paths.clientCert(name);

  if (!(await exists(certPath))) {
    throw new PkiError("PKI_NOT_FOUND", `no certificate to revoke: ${certPath} is missing`, {
      path: certPath,
      hint: "check the client name, or give the certificate file with --cert",
    });
  }
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(await readText(certPath));
  } catch (err) {
    if (err instanceof PkiError) throw err;
    throw new PkiError("PKI_BAD_CERT", `${certPath} is not a readable PEM certificate`, { path: certPath, cause: err });
  }
  if (!(await cert.verify({ publicKey: ca.cert, signatureOnly: true }))) {
    throw new PkiError("PKI_BAD_CERT", `${certPath} was not issued by the CA in ${options.dir}`, { path: certPath });
  }
  const cn = cert.subjectName.getField("CN")[0];
  if (cn !== name) {
    throw new PkiError("PKI_BAD_CERT", `${certPath} is the certificate of ${JSON.stringify(cn ?? "")}, not ${JSON.stringify(name)}`, {
      path: certPath,
    });
  }
  const serial = normalizeSerial(cert.serialNumber);

  const previous: CrlContent = (await exists(paths.crl))
    ? await readCrl(await readText(paths.crl), ca, paths.crl)
    : { number: 0, entries: [] };
  const alreadyRevoked = previous.entries.some((e) => e.serial === serial);
  const entries = alreadyRevoked ? previous.entries : [...previous.entries, { serial, revokedAt: new Date() }];
  const result = {
    name,
    serial,
    crlPath: paths.crl,
    alreadyRevoked,
    revokedSerials: entries.map((e) => e.serial),
  };
  if (alreadyRevoked) return { ...result, written: [] };

  const crl = await createCrl(ca, entries, { number: previous.number + 1 });
  await writeFilesAtomically([{ path: paths.crl, content: crl, mode: PUBLIC_FILE_MODE }]);
  return { ...result, written: [paths.crl] };
}
