// Real TLS 1.3 handshakes with node:tls using the files `certs init` writes, including
// the CRL that `serve --crl` loads.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import * as tls from "node:tls";
import { createCa, initPki, issueCert, issueClientCert, pkiPaths, revokeClientCert } from "../../src/pki/index.js";
import { tempDir } from "./helpers.js";

interface Outcome {
  /** What the server read as the client's CN (it echoes it back). */
  echoed?: string;
  serverCN?: string;
  protocol?: string | null;
  serverError?: Error;
  /** Why the server refused the client certificate, as an OpenSSL code. */
  authorizationError?: string;
  clientError?: Error;
}

/** Starts a mutual-TLS server on 127.0.0.1:0, connects one client, reports what happened. */
async function handshake(
  server: { key: string; cert: string; ca: string; crl?: string },
  client: { key: string; cert: string; ca: string; host?: string; servername?: string },
): Promise<Outcome> {
  const outcome: Outcome = {};
  const srv = tls.createServer({
    ...server,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
  });
  srv.on("secureConnection", (socket) => {
    // A subject with several CNs gives an array; ours have exactly one.
    const cn = socket.getPeerCertificate().subject?.CN;
    outcome.serverCN = Array.isArray(cn) ? cn.join(",") : cn;
    socket.end(`hello ${outcome.serverCN}`);
  });
  srv.on("tlsClientError", (err, socket) => {
    outcome.serverError = err;
    // Node checks the client's chain after the handshake and destroys the socket when
    // it fails; the reason is left on the socket (e.g. "CERT_REVOKED").
    outcome.authorizationError = String(socket.authorizationError ?? "");
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as AddressInfo;
  try {
    await new Promise<void>((resolve) => {
      const socket = tls.connect({
        host: client.host ?? "127.0.0.1",
        port,
        key: client.key,
        cert: client.cert,
        ca: client.ca,
        servername: client.servername,
        minVersion: "TLSv1.3",
      });
      let data = "";
      socket.setEncoding("utf8");
      socket.on("secureConnect", () => {
        outcome.protocol = socket.getProtocol();
      });
      socket.on("data", (chunk: string) => (data += chunk));
      socket.on("error", (err) => {
        outcome.clientError = err;
        resolve();
      });
      socket.on("close", () => {
        if (data) outcome.echoed = data;
        resolve();
      });
    });
  } finally {
    await new Promise((resolve) => srv.close(resolve));
  }
  return outcome;
}

describe("TLS 1.3 with the generated files", () => {
  let dir: string;
  let files: Record<"ca" | "serverCert" | "serverKey" | "crl", string>;
  const client = async (name: string) => ({
    cert: await readFile(pkiPaths(dir).clientCert(name), "utf8"),
    key: await readFile(pkiPaths(dir).clientKey(name), "utf8"),
    ca: files.ca,
  });
  const server = (withCrl = false) => ({
    key: files.serverKey,
    cert: files.serverCert,
    ca: files.ca,
    ...(withCrl ? { crl: files.crl } : {}),
  });

  before(async () => {
    dir = join(await tempDir(), "pki");
    await initPki({ dir, clients: ["alice", "bob"] });
    const p = pkiPaths(dir);
    files = {
      ca: await readFile(p.caCert, "utf8"),
      serverCert: await readFile(p.serverCert, "utf8"),
      serverKey: await readFile(p.serverKey, "utf8"),
      crl: await readFile(p.crl, "utf8"),
    };
  });

  it("a client certificate is accepted and its CN read on the server side (IP SAN 127.0.0.1)", async () => {
    const out = await handshake(server(), await client("alice"));
    assert.equal(out.clientError, undefined, String(out.clientError));
    assert.equal(out.protocol, "TLSv1.3");
    assert.equal(out.serverCN, "alice");
    assert.equal(out.echoed, "hello alice");
  });

  it("the server certificate also matches the DNS name localhost", async () => {
    const out = await handshake(server(), { ...(await client("bob")), servername: "localhost" });
    assert.equal(out.echoed, "hello bob");
  });

  it("the server certificate does not match other names", async () => {
    const out = await handshake(server(), { ...(await client("bob")), host: "127.0.0.1", servername: "example.com" });
    assert.equal(out.clientError?.message.match(/Hostname\/IP does not match|altnames/i) !== null, true, String(out.clientError));
  });

  it("a client from a foreign CA is refused by the server", async () => {
    const foreign = await createCa();
    const eve = await issueCert(foreign, { kind: "client", commonName: "eve" });
    const out = await handshake(server(), { cert: eve.certPem, key: eve.keyPem, ca: files.ca });
    assert.equal(out.serverCN, undefined);
    assert.equal(out.echoed, undefined);
    assert.equal(out.authorizationError, "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  it("the empty CRL written by init can be loaded by node:tls and lets clients in", async () => {
    const out = await handshake(server(true), await client("alice"));
    assert.equal(out.echoed, "hello alice", String(out.clientError ?? out.serverError));
  });

  it("a revoked client is refused when the server loads crl.pem; the others still get in", async () => {
    await issueClientCert({ dir, name: "carol" });
    await revokeClientCert({ dir, name: "carol" });
    files.crl = await readFile(pkiPaths(dir).crl, "utf8");

    const refused = await handshake(server(true), await client("carol"));
    assert.equal(refused.serverCN, undefined);
    assert.equal(refused.echoed, undefined);
    assert.equal(refused.authorizationError, "CERT_REVOKED");

    const ok = await handshake(server(true), await client("alice"));
    assert.equal(ok.echoed, "hello alice", String(ok.clientError ?? ok.serverError));
  });
});
