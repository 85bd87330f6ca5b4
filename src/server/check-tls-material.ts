import { createPrivateKey, X509Certificate } from "node:crypto";
import { ServerConfigError } from "./config-error.js";
import type { TlsFiles, TlsMaterial } from "./tls-options.js";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Refuses, before listening, a server certificate that the CA did not sign or a key that
 * is not the certificate's: OpenSSL would accept both at start-up, and every client would
 * then fail its handshake with a message about *its* side.
 */
export function checkTlsMaterial(material: TlsMaterial, files: TlsFiles): void {
  const leaf = parseFirst(material.cert, `server certificate (--cert) ${files.certFile}`);
  const cas = (material.ca.toString("utf8").match(PEM_CERTIFICATE) ?? []).map((pem) => parse(pem, `CA certificate (--ca) ${files.caFile}`));
  if (cas.length === 0) throw new ServerConfigError(`the CA certificate (--ca) ${files.caFile} holds no PEM certificate`, "give the CA's ca.pem");
  // The leaf, or the last certificate of a chain in the same file, must be issued by one of the CAs.
  const chain = (material.cert.toString("utf8").match(PEM_CERTIFICATE) ?? []).map((pem) => parse(pem, `server certificate (--cert) ${files.certFile}`));
  const top = chain[chain.length - 1] ?? leaf;
  if (!cas.some((ca) => top.checkIssued(ca) && top.verify(ca.publicKey))) {
    throw new ServerConfigError(
      `the server certificate ${files.certFile} is not signed by the CA ${files.caFile}`,
      "issue it from that CA (`jobworker certs server`), or give the CA that signed it",
    );
  }
  let key;
  try {
    key = createPrivateKey(material.key);
  } catch (err) {
    throw new ServerConfigError(`the server key (--key) ${files.keyFile} is not a readable private key`, "give the PEM key that belongs to --cert", { cause: err });
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new ServerConfigError(`the server key ${files.keyFile} does not match the certificate ${files.certFile}`, "give the key that was issued with that certificate");
  }
}

function parseFirst(pem: Buffer, what: string): X509Certificate {
  const first = pem.toString("utf8").match(PEM_CERTIFICATE)?.[0];
  if (!first) throw new ServerConfigError(`the ${what} holds no PEM certificate`);
  return parse(first, what);
}

function parse(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new ServerConfigError(`the ${what} is not a valid certificate`, undefined, { cause: err });
  }
}
