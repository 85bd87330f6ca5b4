// The TLS rules of docs/api.md: who gets in, who is refused before any handler.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { createCa, issueCert } from "../../src/pki/index.js";
import { startServer, type RunningServer } from "../../src/server/index.js";
import { agentFor, call, makePki, startHarness, type ClientCreds, type Harness } from "./fixture.js";
import { request } from "undici";

/** Runs openssl s_client against the server; resolves with its exit code and output. */
function sClient(port: number, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    // A request, so that a handshake that "succeeds" on the client side meets the server's verdict.
    child.stdin.end("GET /jobs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    child.on("close", (code) => done({ code, out }));
  });
}

/** Asserts a request with these credentials never reaches a handler. */
async function assertRefused(h: Harness, creds: { certPem: string; keyPem: string } | undefined, caPem = h.pki.ca.certPem): Promise<void> {
  const before = h.audit.length;
  const agent = agentFor(caPem, creds);
  try {
    await assert.rejects(call(agent, `${h.server.url}/jobs`));
  } finally {
    await agent.destroy();
  }
  assert.equal(h.audit.length, before, "no request was handled");
}

describe("client certificates", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test("a good client certificate is accepted and its CN is the identity", async () => {
    const agent = agentFor(h.pki.ca.certPem, h.alice);
    const answer = await call(agent, `${h.server.url}/jobs`);
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(h.audit.at(-1)!).identity, "alice");
    await agent.close();
  });

  test("no client certificate is refused", async () => {
    await assertRefused(h, undefined);
  });

  test("a certificate from another CA is refused", async () => {
    const other = await createCa({ commonName: "other CA" });
    const mallory = await issueCert(other, { kind: "client", commonName: "alice" });
    await assertRefused(h, mallory);
  });

  test("a server certificate used as a client certificate is refused", async () => {
    await assertRefused(h, h.pki.server);
  });

  test("a client certificate without any extended key usage is refused", async () => {
    const noEku = await issueCert(h.pki.ca, { kind: "client", commonName: "carol", extendedKeyUsages: [] });
    await assertRefused(h, noEku);
  });

  test("an expired certificate is refused", async () => {
    const day = 24 * 3600 * 1000;
    const expired = await issueCert(h.pki.ca, {
      kind: "client",
      commonName: "alice",
      notBefore: new Date(Date.now() - 10 * day),
      notAfter: new Date(Date.now() - day),
    });
    await assertRefused(h, expired);
  });

  test("a certificate that is not valid yet is refused", async () => {
    const day = 24 * 3600 * 1000;
    const future = await issueCert(h.pki.ca, { kind: "client", commonName: "alice", notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 10 * day) });
    await assertRefused(h, future);
  });

  test("a certificate without a subject CN is refused", async () => {
    const noCn = await issueCert(h.pki.ca, { kind: "client", omitCommonName: true, hosts: ["client.example"] });
    await assertRefused(h, noCn);
  });

  test("TLS 1.2 is refused", async () => {
    const result = await sClient(h.server.port, ["-tls1_2", "-CAfile", h.pki.caFile, "-cert", h.alice.certFile, "-key", h.alice.keyFile]);
    assert.notEqual(result.code, 0);
    assert.doesNotMatch(result.out, /HTTP\/1\.1 200/);
  });

  test("TLS 1.3 with a cipher suite outside the three is refused", async () => {
    const args = ["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256", "-CAfile", h.pki.caFile, "-cert", h.alice.certFile, "-key", h.alice.keyFile];
    const result = await sClient(h.server.port, args);
    assert.notEqual(result.code, 0);
    assert.doesNotMatch(result.out, /HTTP\/1\.1 200/);
  });

  test("openssl s_client with TLS 1.3 and a good certificate gets an answer", async () => {
    const result = await sClient(h.server.port, ["-tls1_3", "-CAfile", h.pki.caFile, "-cert", h.alice.certFile, "-key", h.alice.keyFile, "-quiet"]);
    assert.match(result.out, /HTTP\/1\.1 200/);
  });
});

describe("revocation and reload", () => {
  let pki: Awaited<ReturnType<typeof makePki>>;
  let server: RunningServer;
  let alice: ClientCreds;
  let bob: ClientCreds;
  let crlFile: string;
  before(async () => {
    pki = await makePki();
    [alice, bob] = await Promise.all([pki.client("alice"), pki.client("bob")]);
    crlFile = await pki.writeCrl([bob.serial]);
    server = await startServer({ caFile: pki.caFile, certFile: pki.certFile, keyFile: pki.keyFile, crlFile, pool: { dataDir: `${pki.dir}/data` }, auditLog: false, log: () => {} });
  });
  after(async () => {
    await server?.close();
  });

  test("a revoked certificate is refused, others still get in", async () => {
    const a = agentFor(pki.ca.certPem, alice);
    const b = agentFor(pki.ca.certPem, bob);
    assert.equal((await call(a, `${server.url}/jobs`)).status, 200);
    await assert.rejects(call(b, `${server.url}/jobs`));
    await Promise.all([a.destroy(), b.destroy()]);
  });

  test("reloadTls applies a new CRL to new connections, keeping the listener", async () => {
    await pki.writeCrl([bob.serial, alice.serial]);
    await server.reloadTls();
    const a = agentFor(pki.ca.certPem, alice);
    await assert.rejects(call(a, `${server.url}/jobs`));
    await a.destroy();
    await pki.writeCrl([]);
    await server.reloadTls();
    const b = agentFor(pki.ca.certPem, bob);
    assert.equal((await call(b, `${server.url}/jobs`)).status, 200);
    await b.destroy();
  });

  test("a reload that revokes a certificate also closes that client's open connections", async () => {
    await pki.writeCrl([]);
    await server.reloadTls();
    const carol = await pki.client("carol");
    const c = agentFor(pki.ca.certPem, carol);
    const a = agentFor(pki.ca.certPem, alice);
    // Both hold a keep-alive connection, and carol a follow stream of a running job.
    assert.equal((await call(c, `${server.url}/jobs`)).status, 200);
    assert.equal((await call(a, `${server.url}/jobs`)).status, 200);
    const job = (await call(c, `${server.url}/jobs`, "PUT", { cmd: "sleep", args: ["1000"] })).json.id;
    const follow = await request(`${server.url}/jobs/${job}/stdout?follow=true`, { dispatcher: c });
    const following = follow.body.text().then(() => "ended", () => "cut");
    await pki.writeCrl([carol.serial]);
    await server.reloadTls();
    assert.equal(await following, "cut", "the revoked client's stream is cut");
    await assert.rejects(call(c, `${server.url}/jobs`), "no new request either");
    assert.equal((await call(a, `${server.url}/jobs`)).status, 200, "others keep their connections");
    await server.pool.stop(job);
    await Promise.all([a.destroy(), c.destroy()]);
    await pki.writeCrl([]);
    await server.reloadTls();
  });

  test("a failed reload rejects and keeps the previous context", async () => {
    await writeFile(pki.keyFile, "not a key");
    await assert.rejects(server.reloadTls(), /TLS files are not usable/);
    await writeFile(pki.keyFile, pki.server.keyPem);
    const b = agentFor(pki.ca.certPem, bob);
    assert.equal((await call(b, `${server.url}/jobs`)).status, 200);
    await b.destroy();
  });

  test("a configured subset of cipher suites is enforced, across a reload", async () => {
    const only = await startServer({
      caFile: pki.caFile,
      certFile: pki.certFile,
      keyFile: pki.keyFile,
      pool: server.pool,
      ciphers: "TLS_CHACHA20_POLY1305_SHA256",
      auditLog: false,
    });
    try {
      await only.reloadTls();
      const base = ["-tls1_3", "-CAfile", pki.caFile, "-cert", alice.certFile, "-key", alice.keyFile, "-quiet"];
      const refused = await sClient(only.port, [...base, "-ciphersuites", "TLS_AES_128_GCM_SHA256"]);
      assert.doesNotMatch(refused.out, /HTTP\/1\.1 200/);
      const accepted = await sClient(only.port, [...base, "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"]);
      assert.match(accepted.out, /HTTP\/1\.1 200/);
    } finally {
      await only.close();
    }
  });

  test("startServer refuses an unknown cipher suite and names missing files", async () => {
    const base = { caFile: pki.caFile, certFile: pki.certFile, keyFile: pki.keyFile, pool: server.pool, auditLog: false as const };
    await assert.rejects(startServer({ ...base, ciphers: "TLS_AES_128_CCM_SHA256" }), /unsupported cipher suite/);
    await assert.rejects(startServer({ ...base, caFile: `${pki.dir}/missing.pem` }), (err: Error & { hint?: string }) => {
      assert.match(err.message, /CA certificate \(--ca\) not found: .*missing\.pem/);
      assert.match(err.hint ?? "", /certs init/);
      return true;
    });
    await assert.rejects(startServer({ ...base, port: server.port }), /already in use/);
  });
});
