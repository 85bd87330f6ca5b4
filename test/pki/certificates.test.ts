// The certificates themselves, as OpenSSL sees them: chains, algorithms, extensions.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { createCa, initPki, issueCert, pkiPaths, type CertificateAuthority } from "../../src/pki/index.js";
import { certText, openssl, tempDir } from "./helpers.js";

describe("certs init: certificates as OpenSSL sees them", () => {
  let dir: string;
  let paths: ReturnType<typeof pkiPaths>;

  before(async () => {
    dir = join(await tempDir(), "pki");
    paths = pkiPaths(dir);
    await initPki({ dir, clients: ["alice"] });
  });

  it("openssl verify accepts the server and client certificates against ca.pem", () => {
    const r = openssl(["verify", "-CAfile", paths.caCert, paths.serverCert, paths.clientCert("alice")]);
    assert.equal(r.status, 0, r.all);
    assert.match(r.stdout, /server\.pem: OK/);
    assert.match(r.stdout, /alice\.pem: OK/);
  });

  it("checks each certificate's purpose: server for sslserver, client for sslclient", () => {
    assert.equal(openssl(["verify", "-purpose", "sslserver", "-CAfile", paths.caCert, paths.serverCert]).status, 0);
    assert.equal(openssl(["verify", "-purpose", "sslclient", "-CAfile", paths.caCert, paths.clientCert("alice")]).status, 0);
    // The EKUs keep each certificate to its role.
    assert.notEqual(openssl(["verify", "-purpose", "sslclient", "-CAfile", paths.caCert, paths.serverCert]).status, 0);
    assert.notEqual(openssl(["verify", "-purpose", "sslserver", "-CAfile", paths.caCert, paths.clientCert("alice")]).status, 0);
  });

  it("the CA: P-256, ecdsa-with-SHA256, CA:TRUE pathlen:0 critical, keyCertSign + cRLSign critical, SKI = AKI", () => {
    const text = certText(paths.caCert);
    assert.match(text, /ASN1 OID: prime256v1/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Subject: CN = jobworker CA/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text)?.[1];
    const aki = /Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
    assert.ok(ski && ski === aki, `SKI ${ski} AKI ${aki}`);
    assert.match(text, /Not After : .*20\d\d GMT/);
  });

  it("the server certificate: serverAuth, digitalSignature, SANs with localhost, 127.0.0.1 and ::1, AKI = CA's SKI", () => {
    const text = certText(paths.serverCert);
    const caSki = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(certText(paths.caCert))?.[1];
    assert.match(text, /ASN1 OID: prime256v1/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /X509v3 Extended Key Usage:\s+TLS Web Server Authentication\n/);
    assert.match(text, /DNS:localhost/);
    assert.match(text, /IP Address:127\.0\.0\.1/);
    assert.match(text, /IP Address:(0:0:0:0:0:0:0:1|::1)/);
    assert.match(text, /Subject Key Identifier/);
    assert.equal(/Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1], caSki);
  });

  it("the client certificate: CN=<name>, clientAuth, digitalSignature, AKI", () => {
    const text = certText(paths.clientCert("alice"));
    assert.match(text, /Subject: CN = alice\n/);
    assert.match(text, /ASN1 OID: prime256v1/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /X509v3 Extended Key Usage:\s+TLS Web Client Authentication\n/);
    assert.match(text, /Authority Key Identifier/);
  });

  it("serials are random, positive and 16 bytes; validity starts slightly in the past and lasts 365 days", () => {
    const serials = new Set<string>();
    for (const file of [paths.caCert, paths.serverCert, paths.clientCert("alice")]) {
      const r = openssl(["x509", "-in", file, "-noout", "-serial", "-startdate", "-enddate"]);
      const serial = /serial=([0-9A-F]+)/.exec(r.stdout)?.[1] ?? "";
      assert.equal(serial.length, 32, `serial ${serial} is not 16 bytes`);
      assert.ok(parseInt(serial.slice(0, 2), 16) < 0x80, "serial must be positive");
      serials.add(serial);
      const start = Date.parse(/notBefore=(.*)/.exec(r.stdout)![1]!);
      const end = Date.parse(/notAfter=(.*)/.exec(r.stdout)![1]!);
      assert.ok(start < Date.now() - 60_000, "notBefore is set back for clock skew");
      if (file !== paths.caCert) {
        const days = (end - Date.now()) / 86_400_000;
        assert.ok(days > 364.9 && days < 365.1, `leaf validity ${days} days`);
      } else {
        assert.ok((end - Date.now()) / 86_400_000 > 3649, "CA validity 10 years");
      }
    }
    assert.equal(serials.size, 3);
  });

  it("private keys are PKCS#8 PEM P-256 keys that match their certificates", () => {
    for (const [cert, key] of [
      [paths.caCert, paths.caKey],
      [paths.serverCert, paths.serverKey],
      [paths.clientCert("alice"), paths.clientKey("alice")],
    ] as const) {
      const k = openssl(["pkey", "-in", key, "-pubout"]);
      assert.equal(k.status, 0, k.all);
      const c = openssl(["x509", "-in", cert, "-noout", "-pubkey"]);
      assert.equal(k.stdout, c.stdout, `${key} does not match ${cert}`);
      assert.match(openssl(["pkey", "-in", key, "-noout", "-text"]).stdout, /prime256v1/);
    }
  });
});

describe("in-memory helpers for odd certificates", () => {
  let dir: string;
  let ca: CertificateAuthority;

  before(async () => {
    dir = await tempDir();
    ca = await createCa({ commonName: "test CA" });
    await writeFile(join(dir, "ca.pem"), ca.certPem);
  });

  async function verify(certPem: string, purpose = "sslclient", caFile = join(dir, "ca.pem")) {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.pem`);
    await writeFile(file, certPem);
    return openssl(["verify", "-purpose", purpose, "-CAfile", caFile, file]);
  }

  it("createCa + issueCert make a chain OpenSSL accepts", async () => {
    const client = await issueCert(ca, { kind: "client", commonName: "carol" });
    assert.match(client.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal((await verify(client.certPem)).status, 0);
    const server = await issueCert(ca, { kind: "server", hosts: ["build.example.com", "10.1.2.3", "2001:db8::7"] });
    assert.equal((await verify(server.certPem, "sslserver")).status, 0);
    const file = join(dir, "server-hosts.pem");
    await writeFile(file, server.certPem);
    assert.match(certText(file), /DNS:build\.example\.com, IP Address:10\.1\.2\.3, IP Address:2001:DB8:0:0:0:0:0:7/i);
  });

  it("an expired client certificate", async () => {
    const expired = await issueCert(ca, {
      kind: "client",
      commonName: "old",
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const r = await verify(expired.certPem);
    assert.notEqual(r.status, 0);
    assert.match(r.all, /certificate has expired/);
  });

  it("a client certificate without a CN", async () => {
    const noCn = await issueCert(ca, { kind: "client", omitCommonName: true });
    const file = join(dir, "nocn.pem");
    await writeFile(file, noCn.certPem);
    assert.match(certText(file), /Subject: O = jobworker\n/);
    assert.equal((await verify(noCn.certPem)).status, 0, "it still chains: refusing it is the server's job");
  });

  it("a server certificate used as a client one, and custom EKUs", async () => {
    const server = await issueCert(ca, { kind: "server", commonName: "mallory" });
    assert.notEqual((await verify(server.certPem, "sslclient")).status, 0);
    const noEku = await issueCert(ca, { kind: "client", commonName: "x", extendedKeyUsages: [] });
    const file = join(dir, "noeku.pem");
    await writeFile(file, noEku.certPem);
    assert.doesNotMatch(certText(file), /Extended Key Usage/);
  });

  it("a certificate from a foreign CA", async () => {
    const foreign = await createCa({ commonName: "foreign CA" });
    const cert = await issueCert(foreign, { kind: "client", commonName: "eve" });
    const r = await verify(cert.certPem);
    assert.notEqual(r.status, 0);
    assert.match(r.all, /unable to get local issuer certificate/);
  });

  it("refuses a validity that ends before it starts", async () => {
    await assert.rejects(
      issueCert(ca, { kind: "client", commonName: "x", notBefore: new Date(), notAfter: new Date(Date.now() - 1000) }),
      { code: "PKI_INVALID_VALIDITY" },
    );
  });
});
