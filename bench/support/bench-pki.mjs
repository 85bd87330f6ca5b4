// The throwaway PKI the server benchmarks share: a CA, a server certificate and a
// client "bench", written to `work` for startServer; `tls` is the client's connect options.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCa, issueCert } from "../../dist/pki/index.js";

export async function benchPki(work) {
  const ca = await createCa();
  const serverCert = await issueCert(ca, { kind: "server" });
  const client = await issueCert(ca, { kind: "client", commonName: "bench" });
  const files = { caFile: join(work, "ca.pem"), certFile: join(work, "server.pem"), keyFile: join(work, "server.key") };
  writeFileSync(files.caFile, ca.certPem);
  writeFileSync(files.certFile, serverCert.certPem);
  writeFileSync(files.keyFile, serverCert.keyPem);
  const tls = { ca: ca.certPem, cert: client.certPem, key: client.keyPem, servername: "localhost" };
  return { ca, serverCert, files, tls };
}
