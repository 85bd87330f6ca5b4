// Revocation: crl.pem as OpenSSL reads it, accumulation, refusals.
import assert from "node:assert/strict";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createCa, initPki, issueCert, issueClientCert, pkiPaths, readCrl, loadCaFromDir, revokeClientCert } from "../../src/pki/index.js";
import { openssl, snapshot, tempDir } from "./helpers.js";

function crlText(path: string): string {
  const r = openssl(["crl", "-in", path, "-noout", "-text"]);
  assert.equal(r.status, 0, r.all);
  return r.stdout;
}

function verifyWithCrl(dir: string, cert: string) {
  const p = pkiPaths(dir);
  return openssl(["verify", "-crl_check", "-CRLfile", p.crl, "-CAfile", p.caCert, cert]);
}

describe("revocation", () => {
  it("init writes an empty CRL that OpenSSL reads and that lets certificates through", async () => {
    const dir = await tempDir();
    await initPki({ dir });
    const p = pkiPaths(dir);
    assert.match(await readFile(p.crl, "utf8"), /^-----BEGIN X509 CRL-----\n/);
    const text = crlText(p.crl);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Issuer: CN = jobworker CA/);
    assert.match(text, /No Revoked Certificates/);
    assert.match(text, /X509v3 CRL Number:\s+1\n/);
    assert.match(text, /Next Update: .*20\d\d GMT/);
    const r = verifyWithCrl(dir, p.clientCert("default"));
    assert.equal(r.status, 0, r.all);
  });

  it("revoke adds the serial; openssl verify -crl_check says certificate revoked; others still verify", async () => {
    const dir = await tempDir();
    await initPki({ dir, clients: ["alice", "bob", "carol"] });
    const p = pkiPaths(dir);
    const bob = await revokeClientCert({ dir, name: "bob" });
    assert.equal(bob.alreadyRevoked, false);
    assert.deepEqual(bob.written, [p.crl]);
    assert.match(crlText(p.crl), new RegExp(`Serial Number: ${bob.serial.toUpperCase()}`));
    const revoked = verifyWithCrl(dir, p.clientCert("bob"));
    assert.notEqual(revoked.status, 0);
    assert.match(revoked.all, /certificate revoked/);
    assert.equal(verifyWithCrl(dir, p.clientCert("alice")).status, 0);
    assert.equal(verifyWithCrl(dir, p.serverCert).status, 0);

    // A fresh CRL each time, listing every serial revoked before.
    const carol = await revokeClientCert({ dir, name: "carol" });
    assert.deepEqual(carol.revokedSerials, [bob.serial, carol.serial]);
    const text = crlText(p.crl);
    assert.match(text, new RegExp(bob.serial.toUpperCase()));
    assert.match(text, new RegExp(carol.serial.toUpperCase()));
    assert.match(text, /X509v3 CRL Number:\s+3\n/);
    assert.match(verifyWithCrl(dir, p.clientCert("bob")).all, /certificate revoked/);
    assert.match(verifyWithCrl(dir, p.clientCert("carol")).all, /certificate revoked/);
    const content = await readCrl(await readFile(p.crl, "utf8"), await loadCaFromDir(dir));
    assert.equal(content.number, 3);
    assert.deepEqual(content.entries.map((e) => e.serial), [bob.serial, carol.serial]);
  });

  it("revoking twice is harmless and writes nothing", async () => {
    const dir = await tempDir();
    await initPki({ dir, clients: ["bob"] });
    await revokeClientCert({ dir, name: "bob" });
    const before = await snapshot(dir);
    const again = await revokeClientCert({ dir, name: "bob" });
    assert.equal(again.alreadyRevoked, true);
    assert.deepEqual(again.written, []);
    assert.deepEqual(await snapshot(dir), before);
  });

  it("rotation: keep the old certificate, issue a new one with --force, revoke the old with certFile", async () => {
    const dir = await tempDir();
    await initPki({ dir, clients: ["alice"] });
    const p = pkiPaths(dir);
    const old = join(dir, "alice-old.pem");
    await copyFile(p.clientCert("alice"), old);
    await issueClientCert({ dir, name: "alice", force: true });
    await revokeClientCert({ dir, name: "alice", certFile: old });
    assert.match(verifyWithCrl(dir, old).all, /certificate revoked/);
    assert.equal(verifyWithCrl(dir, p.clientCert("alice")).status, 0);
  });

  it("refuses: unknown name, another name's certificate, a foreign certificate, no CA", async () => {
    const dir = await tempDir();
    await initPki({ dir, clients: ["alice"] });
    const p = pkiPaths(dir);
    const before = await snapshot(dir);
    await assert.rejects(revokeClientCert({ dir, name: "nobody" }), { code: "PKI_NOT_FOUND", message: /nobody\.pem is missing/ });
    await assert.rejects(revokeClientCert({ dir, name: "bob", certFile: p.clientCert("alice") }), {
      code: "PKI_BAD_CERT",
      message: /certificate of "alice", not "bob"/,
    });
    const foreign = await issueCert(await createCa(), { kind: "client", commonName: "alice" });
    const foreignFile = join(await tempDir(), "foreign.pem");
    await writeFile(foreignFile, foreign.certPem);
    await assert.rejects(revokeClientCert({ dir, name: "alice", certFile: foreignFile }), {
      code: "PKI_BAD_CERT",
      message: /not issued by the CA/,
    });
    await assert.rejects(revokeClientCert({ dir, name: "../alice" }), { code: "PKI_INVALID_NAME" });
    await assert.rejects(revokeClientCert({ dir: join(dir, "nope"), name: "alice" }), { code: "PKI_NO_CA" });
    assert.deepEqual(await snapshot(dir), before);
  });

  it("refuses to extend a CRL signed by another CA", async () => {
    const dir = await tempDir();
    await initPki({ dir, clients: ["alice"] });
    const other = await tempDir();
    await initPki({ dir: other });
    await copyFile(pkiPaths(other).crl, pkiPaths(dir).crl);
    await assert.rejects(revokeClientCert({ dir, name: "alice" }), { code: "PKI_BAD_CA", message: /not signed by this CA/ });
  });
});
