import { DAY_MS, MAX_VALIDITY_DAYS } from "./defaults.js";
import { loadCa, type CertificateAuthority } from "./certificates.js";
import { PkiError } from "./errors.js";
import { exists, readText } from "./files.js";
import { pkiPaths } from "./paths.js";

/**
 * Loads the CA of a PKI directory for signing. `PKI_NO_CA` (hint: run `certs init`)
 * when ca.pem or ca.key is missing, `PKI_BAD_CA` when they are unusable.
 */
export async function loadCaFromDir(dir: string): Promise<CertificateAuthority> {
  const paths = pkiPaths(dir);
  for (const path of [paths.caCert, paths.caKey]) {
    if (!(await exists(path))) {
      throw new PkiError("PKI_NO_CA", `no CA in ${dir}: ${path} is missing`, {
        path,
        hint: `run "jobworker certs init --dir ${dir}" first`,
      });
    }
  }
  const [certPem, keyPem] = await Promise.all([readText(paths.caCert), readText(paths.caKey)]);
  return loadCa(certPem, keyPem, `${paths.caCert} / ${paths.caKey}`);
}

/**
 * Checks a leaf validity in days (a whole number from 1 to 36500) and returns it,
 * or throws `PKI_INVALID_VALIDITY`.
 */
export function validateDays(days: unknown): number {
  if (typeof days !== "number" || !Number.isInteger(days) || days < 1 || days > MAX_VALIDITY_DAYS) {
    throw new PkiError("PKI_INVALID_VALIDITY", `invalid number of days: ${String(days)}`, {
      hint: `give a whole number from 1 to ${MAX_VALIDITY_DAYS}`,
    });
  }
  return days;
}

/**
 * Refuses a leaf that would outlive its CA: clients would start rejecting it when the
 * CA expires anyway, so a longer validity only misleads.
 */
export function assertWithinCa(ca: CertificateAuthority, days: number, now = Date.now()): void {
  if (now + days * DAY_MS > ca.notAfter.getTime()) {
    throw new PkiError(
      "PKI_INVALID_VALIDITY",
      `a certificate valid for ${days} days would outlive the CA, which expires on ${ca.notAfter.toISOString().slice(0, 10)}`,
      { hint: "use a smaller --days, or create a new CA with certs init --force" },
    );
  }
}
