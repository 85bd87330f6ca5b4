import type { TLSSocket } from "node:tls";

/**
 * Closes the open connections whose client certificate the CRL now lists. A reload only
 * changes the TLS context of *new* handshakes, and identity is checked once per
 * connection, so without this a revoked client could go on using a keep-alive connection
 * (or a follow stream) it opened before. Returns how many were closed.
 */
export async function closeRevokedConnections(sockets: Iterable<TLSSocket>, crlPem: Buffer): Promise<number> {
  // Loaded here, on reload only: the x509 code is not needed to serve.
  await import("reflect-metadata");
  const [{ X509Crl }, { normalizeSerial }] = await Promise.all([import("@peculiar/x509"), import("../pki/crl.js")]);
  const revoked = new Set<string>();
  for (const block of crlPem.toString("latin1").match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? []) {
    for (const entry of new X509Crl(block).entries) revoked.add(normalizeSerial(entry.serialNumber));
  }
  let closed = 0;
  for (const socket of sockets) {
    const serial = socket.getPeerX509Certificate()?.serialNumber;
    if (serial && revoked.has(normalizeSerial(serial))) {
      socket.destroy();
      closed++;
    }
  }
  return closed;
}
