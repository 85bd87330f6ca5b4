import { createSecureContext, type SecureContext } from "node:tls";

type Pem = string | Buffer;

// Contexts already made, by the certificate Buffer they were made from (with the CA and
// key they were made with): loadCredentials makes one to check the files, and the
// client made from those very Buffers uses it instead of parsing the PEMs again.
const made = new WeakMap<Buffer, { ca: Pem; key: Pem; context: SecureContext }>();

/**
 * The TLS context of a client: our certificate and key, the one CA we trust, TLS 1.3
 * only. Throws what `tls.createSecureContext` throws for unusable PEMs.
 */
export function clientTlsContext(ca: Pem, cert: Pem, key: Pem): SecureContext {
  const known = typeof cert === "string" ? undefined : made.get(cert);
  if (known && known.ca === ca && known.key === key) return known.context;
  const context = createSecureContext({ ca, cert, key, minVersion: "TLSv1.3", maxVersion: "TLSv1.3" });
  if (typeof cert !== "string") made.set(cert, { ca, key, context });
  return context;
}
