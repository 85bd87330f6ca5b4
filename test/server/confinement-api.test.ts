// Confinement through the real mTLS server (docs/security.md): a job of alice cannot read
// the server's PKI files, so cannot mint a certificate, and its record says how it ran.
//
// `serve` masks the files its flags name (and ~/.jobworker) by itself
// (src/cli/commands/serve.ts); `startServer` takes the list as it is, so this test passes
// it by hand. The PKI is not the fixture's usual /tmp directory: a job's /tmp is its own,
// so files there would be out of reach whatever the masks did. It is under /srv instead,
// and world-readable on purpose: only the masks keep it from the job.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { createCa, issueCert, pkiPaths } from "../../src/pki/index.js";
import { startServer, type RunningServer } from "../../src/server/index.js";
import { DEFAULT_UID_RANGE } from "../../src/engine/confinement/uid-range.js";
import { agentFor, call, waitEnded } from "./fixture.js";

const root = process.getuid?.() === 0;
const openssl = ["/usr/bin/openssl", "/bin/openssl", "/usr/local/bin/openssl"].some((p) => existsSync(p));

describe("a confining server (root, defaults)", { skip: !root && "needs root (confinement is a root server's)" }, () => {
  let dir: string;
  let paths: ReturnType<typeof pkiPaths>;
  let server: RunningServer;
  let caPem: string;
  let alice: Agent;
  let bob: Agent;

  before(async () => {
    dir = mkdtempSync("/srv/jobworker-test-");
    chmodSync(dir, 0o755);
    paths = pkiPaths(join(dir, "pki"));
    mkdirSync(paths.dir, { mode: 0o755 });
    const ca = await createCa();
    const serverCert = await issueCert(ca, { kind: "server" });
    caPem = ca.certPem;
    writeFileSync(paths.caCert, ca.certPem, { mode: 0o644 });
    writeFileSync(paths.caKey, ca.keyPem, { mode: 0o644 });
    writeFileSync(paths.serverCert, serverCert.certPem, { mode: 0o644 });
    writeFileSync(paths.serverKey, serverCert.keyPem, { mode: 0o644 });
    const [aliceCert, bobCert] = await Promise.all(["alice", "bob"].map((commonName) => issueCert(ca, { kind: "client", commonName })));
    server = await startServer({
      caFile: paths.caCert,
      certFile: paths.serverCert,
      keyFile: paths.serverKey,
      pool: {
        dataDir: join(dir, "data"),
        stopGraceMs: 1000,
        isolation: {},
        // What `serve` masks: every file its flags name, and the PKI home (~/.jobworker).
        confinement: { masks: [paths.caCert, paths.serverCert, paths.serverKey, paths.dir] },
      },
      auditLog: false,
      log: () => {},
    });
    assert.equal(server.pool.confinement().mode, "per-identity", server.pool.confinement().summary);
    alice = agentFor(caPem, aliceCert!);
    bob = agentFor(caPem, bobCert!);
  });
  after(async () => {
    await alice?.close();
    await bob?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function runAs(agent: Agent, script: string): Promise<{ id: string; record: any; stdout: string; stderr: string }> {
    const put = await call(agent, `${server.url}/jobs`, "PUT", { cmd: "sh", args: ["-c", script] });
    assert.equal(put.status, 200, put.text);
    const id = put.json.id as string;
    await waitEnded(agent, server.url, id);
    const record = (await call(agent, `${server.url}/jobs/${id}`)).json;
    const stdout = (await call(agent, `${server.url}/jobs/${id}/stdout`)).text;
    const stderr = (await call(agent, `${server.url}/jobs/${id}/stderr`)).text;
    return { id, record, stdout, stderr };
  }

  test("alice's job cannot read the server's PKI files: each is missing or empty", async () => {
    const files = [paths.caKey, paths.caCert, paths.serverKey, paths.serverCert];
    const script = `for f in ${files.join(" ")}; do if [ -e "$f" ]; then echo "$f $(cat "$f" | wc -c)"; else echo "$f missing"; fi; done; ls -A ${paths.dir}; echo done`;
    const job = await runAs(alice, script);
    assert.equal(job.record.exit_code, 0, job.stderr);
    const lines = job.stdout.trim().split("\n");
    assert.equal(lines.pop(), "done");
    assert.equal(lines.length, files.length, `the PKI directory lists nothing in the job: ${job.stdout}`);
    for (const line of lines) assert.match(line, / (missing|0)$/, `readable by the job: ${line}`);
    assert.doesNotMatch(job.stdout, /PRIVATE KEY|CERTIFICATE/);
    // The server still has them (the masks are the job's view only).
    assert.match(readFileSync(paths.caKey, "utf8"), /PRIVATE KEY/);
  });

  test("with the CA key unreadable, alice's job cannot mint a certificate", { skip: !openssl && "no openssl" }, async () => {
    const mint = (caKey: string, caCert: string, out: string) =>
      `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=admin -keyout ${out}.key -out ${out}.csr 2>/dev/null && openssl x509 -req -in ${out}.csr -CA ${caCert} -CAkey ${caKey} -days 1 -out ${out}.pem 2>&1; echo "mint=$?"; cat ${out}.pem 2>/dev/null`;
    // The same command, on the host with the real key, does mint one: the mask is what stops the job.
    const work = mkdtempSync(join(dir, "mint-"));
    const control = spawnSync("sh", ["-c", mint(paths.caKey, paths.caCert, join(work, "admin"))], { encoding: "utf8" });
    assert.match(control.stdout, /mint=0\n-----BEGIN CERTIFICATE-----/, control.stdout + control.stderr);
    const job = await runAs(alice, `echo "key: $(cat ${paths.caKey} 2>/dev/null | wc -c) bytes"; ${mint(paths.caKey, paths.caCert, "/tmp/admin")}`);
    assert.match(job.stdout, /^key: 0 bytes\n/);
    assert.match(job.stdout, /mint=[1-9]\d*\n/, job.stdout);
    assert.doesNotMatch(job.stdout, /BEGIN CERTIFICATE/);
  });

  test("alice's record JSON has isolation.uid, confined: true; bob's uid is another", async () => {
    const aliceJob = await runAs(alice, "id -u");
    const bobJob = await runAs(bob, "id -u");
    for (const job of [aliceJob, bobJob]) {
      const isolation = job.record.isolation;
      assert.equal(isolation.confined, true);
      assert.equal(isolation.read_only_host, true);
      assert.equal(isolation.home, "/home/job");
      assert.deepEqual(isolation.namespaces, ["pid", "mount", "ipc", "uts"]);
      assert.ok(Number.isInteger(isolation.uid) && isolation.uid >= DEFAULT_UID_RANGE.first && isolation.uid <= DEFAULT_UID_RANGE.last, String(isolation.uid));
      assert.equal(isolation.gid, isolation.uid);
      assert.equal(job.stdout, `${isolation.uid}\n`);
    }
    assert.notEqual(aliceJob.record.isolation.uid, bobJob.record.isolation.uid);
  });
});
