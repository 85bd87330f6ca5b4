// Checks of TLS material that both sides make before using it: the server at start-up and
// reload (src/server/check-tls-material.ts), the client when a context is added
// (src/cli/config/check-context-files.ts). Node's own X509Certificate and KeyObject only:
// cheap to load, and the same parser OpenSSL will later use, so what passes here loads there.
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificate blocks of a file's contents, in order (none: an empty array). */
export function pemCertificateBlocks(pem: Buffer | string): string[] {
  return (typeof pem === "string" ? pem : pem.toString("utf8")).match(PEM_CERTIFICATE) ?? [];
}

/**
 * Every PEM certificate of a file's contents, parsed. Throws what X509Certificate throws
 * for a block that is not a certificate; an empty array when there is no block at all.
 */
export function parseCertificates(pem: Buffer | string): X509Certificate[] {
  return pemCertificateBlocks(pem).map((block) => new X509Certificate(block));
}

/** The private key of a PEM file. Throws what createPrivateKey throws for anything else. */
export function parsePrivateKey(pem: Buffer | string): KeyObject {
  return createPrivateKey(pem);
}

/** True when `key` is the private half of `cert`'s public key. */
export function keyMatchesCertificate(cert: X509Certificate, key: KeyObject): boolean {
  return cert.checkPrivateKey(key);
}

/** True when `cert` may issue certificates: basicConstraints `cA` is set. */
export function isCaCertificate(cert: X509Certificate): boolean {
  return cert.ca;
}

/** True when one of `cas` issued `cert` and its signature verifies with that CA's key. */
export function isIssuedByOneOf(cert: X509Certificate, cas: readonly X509Certificate[]): boolean {
  return cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}
