// Why the server refused our certificate, worked out from real certificates made by
// src/pki (the wire gives the same reset for every reason).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diagnoseRefusal } from "../../src/client/refusal-diagnosis.js";
import { initPki, pkiPaths } from "../../src/pki/index.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("diagnoseRefusal", () => {
  let dir: { path: string; remove: () => void };
  let ca: Buffer;
  let ours: Buffer;
  before(async () => {
    dir = tempDir("jobworker-refusal-");
    await initPki({ dir: join(dir.path, "a"), clients: ["alice"] });
    await initPki({ dir: join(dir.path, "b"), clients: ["mallory"] });
    ca = await readFile(pkiPaths(join(dir.path, "a")).caCert);
    ours = await readFile(pkiPaths(join(dir.path, "a")).clientCert("alice"));
  });
  after(() => dir?.remove());

  it("another CA, even one of the same name", async () => {
    const mallory = await readFile(pkiPaths(join(dir.path, "b")).clientCert("mallory"));
    assert.match(diagnoseRefusal(mallory, ca)?.reason ?? "", /^it is signed by another CA of the same name \(CN=jobworker CA\), not by the server's CA$/);
  });
  it("a certificate without clientAuth", async () => {
    const server = await readFile(pkiPaths(join(dir.path, "a")).serverCert);
    assert.match(diagnoseRefusal(server, ca)?.reason ?? "", /lacks the clientAuth extended key usage/);
  });
  it("expired, or not valid yet", () => {
    assert.match(diagnoseRefusal(ours, ca, new Date("2999-01-01"))?.reason ?? "", /^it expired on /);
    assert.match(diagnoseRefusal(ours, ca, new Date("2000-01-01"))?.reason ?? "", /^it is not valid before /);
  });
  it("nothing wrong with it: most likely revoked", () => {
    const d = diagnoseRefusal(ours, ca);
    assert.match(d?.reason ?? "", /most likely been revoked$/);
    assert.match(d?.hint ?? "", /certs revoke/);
  });
  it("a CA bundle: any CA in it may have signed ours", async () => {
    const other = await readFile(pkiPaths(join(dir.path, "b")).caCert);
    assert.match(diagnoseRefusal(ours, Buffer.concat([other, ca]))?.reason ?? "", /revoked/);
  });
});
