// Refused handshakes are logged on the server with the reason (issue 16): the client only
// sees a reset, so the operator's log is the one place that says why. And `serve`
// refuses, at start-up, a certificate its CA did not sign or a key that is not its own.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { createCa, issueCert } from "../../src/pki/index.js";
import { startServer } from "../../src/server/index.js";
import { agentFor, call, startHarness, type Harness } from "./fixture.js";

const DAY = 24 * 3600 * 1000;

describe("refused handshakes are logged with the reason", () => {
  let h: Harness;
  const lines: string[] = [];
  let waiters: (() => void)[] = [];
  before(async () => {
    h = await startHarness({
      log: (line: string) => {
        lines.push(line);
        for (const wake of waiters) wake();
        waiters = [];
      },
    });
  });
  after(async () => {
    await h?.close();
  });

  /** Connects with `creds`, expects the refusal, and returns the log line it caused. */
  async function refusalLogged(creds: { certPem: string; keyPem: string } | undefined, caPem = h.pki.ca.certPem): Promise<string> {
    const before = lines.length;
    const agent = agentFor(caPem, creds);
    try {
      await assert.rejects(call(agent, `${h.server.url}/jobs`));
    } finally {
      await agent.destroy();
    }
    // The server logs as it drops the connection, which may be just after the client saw it.
    const deadline = Date.now() + 10_000;
    while (!lines.slice(before).some((l) => l.startsWith("refused a TLS connection"))) {
      assert.ok(Date.now() < deadline, "a refusal was logged");
      await new Promise<void>((wake) => {
        waiters.push(wake);
        setTimeout(wake, 200).unref();
      });
    }
    return lines.slice(before).find((l) => l.startsWith("refused a TLS connection"))!;
  }

  test("no client certificate", async () => {
    assert.match(await refusalLogged(undefined), /^refused a TLS connection from 127\.0\.0\.1:\d+: no client certificate$/);
  });

  test("unknown CA", async () => {
    const other = await createCa({ commonName: "other CA" });
    const mallory = await issueCert(other, { kind: "client", commonName: "alice" });
    assert.match(await refusalLogged(mallory), /^refused a TLS connection from 127\.0\.0\.1:\d+: certificate not signed by this server's CA \(unknown CA\)$/);
  });

  test("expired, and not yet valid", async () => {
    const expired = await issueCert(h.pki.ca, { kind: "client", commonName: "alice", notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
    assert.match(await refusalLogged(expired), /: certificate expired$/);
    const future = await issueCert(h.pki.ca, { kind: "client", commonName: "alice", notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 10 * DAY) });
    assert.match(await refusalLogged(future), /: certificate not yet valid$/);
  });

  test("no clientAuth usage, and no CN", async () => {
    assert.match(await refusalLogged(h.pki.server), /: certificate lacks the clientAuth extended key usage$/);
    const noCn = await issueCert(h.pki.ca, { kind: "client", omitCommonName: true, hosts: ["client.example"] });
    assert.match(await refusalLogged(noCn), /: certificate has no subject CN$/);
  });

  test("revoked", async () => {
    const crlFile = await h.pki.writeCrl([h.bob.serial]);
    const revoking = await startServer({
      caFile: h.pki.caFile,
      certFile: h.pki.certFile,
      keyFile: h.pki.keyFile,
      crlFile,
      pool: h.server.pool,
      port: 0,
      auditLog: false,
      log: (line: string) => lines.push(line),
    });
    try {
      const before = lines.length;
      const agent = agentFor(h.pki.ca.certPem, h.bob);
      await assert.rejects(call(agent, `${revoking.url}/jobs`));
      await agent.destroy();
      const deadline = Date.now() + 10_000;
      while (!lines.slice(before).some((l) => /: certificate revoked$/.test(l))) {
        assert.ok(Date.now() < deadline, `a revocation was logged: ${lines.slice(before).join(" / ")}`);
        await new Promise((wake) => setTimeout(wake, 20));
      }
    } finally {
      await revoking.close();
    }
  });
});

describe("serve refuses mismatched TLS files at start-up", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test("a server certificate that the CA did not sign", async () => {
    const other = await createCa({ commonName: "other CA" });
    const foreign = await issueCert(other, { kind: "server" });
    const certFile = `${h.pki.dir}/foreign-server.pem`;
    const keyFile = `${h.pki.dir}/foreign-server.key`;
    await writeFile(certFile, foreign.certPem);
    await writeFile(keyFile, foreign.keyPem, { mode: 0o600 });
    await assert.rejects(startServer({ caFile: h.pki.caFile, certFile, keyFile, pool: h.server.pool, auditLog: false, log: () => {} }), (err: Error & { hint?: string }) => {
      assert.equal(err.message, `the server certificate ${certFile} is not signed by the CA ${h.pki.caFile}`);
      assert.match(err.hint ?? "", /certs server/);
      return true;
    });
  });

  test("a key that does not belong to the certificate", async () => {
    const otherServer = await issueCert(h.pki.ca, { kind: "server" });
    const keyFile = `${h.pki.dir}/other-server.key`;
    await writeFile(keyFile, otherServer.keyPem, { mode: 0o600 });
    await assert.rejects(startServer({ caFile: h.pki.caFile, certFile: h.pki.certFile, keyFile, pool: h.server.pool, auditLog: false, log: () => {} }), (err: Error) => {
      assert.equal(err.message, `the server key ${keyFile} does not match the certificate ${h.pki.certFile}`);
      return true;
    });
  });
});
