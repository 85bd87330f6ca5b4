import type { X509Certificate } from "node:crypto";
import { isIssuedByOneOf, keyMatchesCertificate, parsePrivateKey, pemCertificateBlocks, parseCertificates } from "../pki/tls-checks.js";
import { ServerConfigError } from "./config-error.js";
import type { TlsFiles, TlsMaterial } from "./tls-options.js";

/**
 * Refuses, before listening, a server certificate that the CA did not sign or a key that
 * is not the certificate's: OpenSSL would accept both at start-up, and every client would
 * then fail its handshake with a message about *its* side.
 */
export function checkTlsMaterial(material: TlsMaterial, files: TlsFiles): void {
  const chain = parseAll(material.cert, `server certificate (--cert) ${files.certFile}`);
  const cas = parseAll(material.ca, `CA certificate (--ca) ${files.caFile}`, "give the CA's ca.pem");
  // The leaf is first; it, or the last certificate of a chain in the same file, must be
  // issued by one of the CAs.
  const leaf = chain[0]!;
  const top = chain[chain.length - 1]!;
  if (!isIssuedByOneOf(top, cas)) {
    throw new ServerConfigError(
      `the server certificate ${files.certFile} is not signed by the CA ${files.caFile}`,
      "issue it from that CA (`jobworker certs server`), or give the CA that signed it",
    );
  }
  let key;
  try {
    key = parsePrivateKey(material.key);
  } catch (err) {
    throw new ServerConfigError(`the server key (--key) ${files.keyFile} is not a readable private key`, "give the PEM key that belongs to --cert", { cause: err });
  }
  if (!keyMatchesCertificate(leaf, key)) {
    throw new ServerConfigError(`the server key ${files.keyFile} does not match the certificate ${files.certFile}`, "give the key that was issued with that certificate");
  }
}

/** Every PEM certificate of a file, parsed; refuses a file that holds none. */
function parseAll(pem: Buffer, what: string, hint?: string): X509Certificate[] {
  if (pemCertificateBlocks(pem).length === 0) throw new ServerConfigError(`the ${what} holds no PEM certificate`, hint);
  try {
    return parseCertificates(pem);
  } catch (err) {
    throw new ServerConfigError(`the ${what} is not a valid certificate`, undefined, { cause: err });
  }
}
