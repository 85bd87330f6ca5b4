// `jobworker serve` as a process: the embedded default PKI, curl against it, SIGHUP,
// SIGTERM, and one-line errors.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const MAIN = join(import.meta.dirname, "../../src/cli/main.ts");
const cli = (args: string[]) => [process.execPath, ["--import", "tsx", MAIN, ...args]] as const;

let home: string;
before(async () => {
  home = await mkdtemp(join(tmpdir(), "jobworker-serve-test-"));
});
after(async () => {
  await rm(home, { recursive: true, force: true });
});

interface Serving {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `serve` and waits for its listening line (or its exit). */
function serve(args: string[]): Promise<Serving> {
  const [cmd, argv] = cli(["serve", "--home", home, "--listen", "127.0.0.1:0", ...args]);
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, JOBWORKER_HOME: "" } });
  let err = "";
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  return new Promise((done, fail) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const match = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (match) done({ child, port: Number(match[1]), stderr: () => err, exited });
    });
    child.stdout!.resume();
    void exited.then((code) => fail(new Error(`serve exited (${code}): ${err}`)));
  });
}

function curlDefault(port: number, path: string, args: string[] = []): Promise<string> {
  const pki = join(home, "pki");
  return run("curl", ["-sS", "--cacert", join(pki, "ca.pem"), "--cert", join(pki, "clients/default.pem"), "--key", join(pki, "clients/default.key"), ...args, `https://127.0.0.1:${port}${path}`]).then((r) => r.stdout);
}

test("first run creates the development PKI, answers curl, reloads on SIGHUP and exits 0 on SIGTERM", async () => {
  const audit = join(home, "audit.log");
  const s = await serve(["--audit-log", audit]);
  try {
    assert.match(s.stderr(), /created a development PKI in .*pki/);
    // Two lines, besides the report of what resource control, isolation and start path this host allows.
    const lines = s.stderr().trim().split("\n").filter((l) => !/^jobworker: (cgroups|isolation|start path|confinement|queue|default limits|limits over each identity|cannot|warning: jobs run as root)/.test(l));
    assert.equal(lines.length, 2, s.stderr());
    assert.match(s.stderr(), /^jobworker: cgroups: /m);
    assert.match(s.stderr(), /^jobworker: isolation: /m);
    assert.match(s.stderr(), /^jobworker: start path: every job is forked by the launcher/m);
    assert.match(s.stderr(), /^jobworker: confinement: /m);
    assert.match(s.stderr(), /^jobworker: queue: each client runs at most 64 jobs at once; up to 1000 more per client wait, queued, then 429$/m);
    for (const f of ["ca.pem", "ca.key", "server.pem", "server.key", "clients/default.pem", "clients/default.key"]) {
      assert.ok(existsSync(join(home, "pki", f)), f);
    }
    const created = JSON.parse(await curlDefault(s.port, "/jobs", ["-X", "PUT", "-H", "content-type: application/json", "-d", '{"cmd":"uname","args":["-s"]}']));
    assert.equal(await curlDefault(s.port, `/jobs/${created.id}/stdout?follow=true`), "Linux\n");
    // What logrotate does: move the file away, then SIGHUP, which also reopens the log.
    await rename(audit, `${audit}.1`);
    s.child.kill("SIGHUP");
    while (!/reloaded the TLS/.test(s.stderr())) await new Promise((r) => setTimeout(r, 20));
    assert.match(await curlDefault(s.port, "/jobs"), /uname/);
  } finally {
    s.child.kill("SIGTERM");
  }
  assert.equal(await s.exited, 0);
  const auditLines = async (file: string) => (await readFile(file, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
  const rotated = await auditLines(`${audit}.1`);
  assert.equal(rotated[0].log, "audit");
  assert.equal(rotated[0].identity, "default");
  assert.equal(rotated[0].method, "PUT");
  const fresh = await auditLines(audit);
  assert.deepEqual(fresh.map((l) => `${l.method} ${l.route}`), ["GET /jobs"]);
  assert.equal((await stat(audit)).mode & 0o777, 0o600);
  assert.ok(existsSync(join(home, "data")));
});

test("a second run reuses the PKI silently; SIGTERM stops running jobs", async () => {
  const s = await serve([]);
  try {
    assert.doesNotMatch(s.stderr(), /created/);
    const created = JSON.parse(await curlDefault(s.port, "/jobs", ["-X", "PUT", "-H", "content-type: application/json", "-d", '{"cmd":"sleep","args":["60"]}']));
    assert.match(created.id, /^[0-9a-f-]{36}$/);
  } finally {
    s.child.kill("SIGTERM");
  }
  assert.equal(await s.exited, 0, "exits 0 once the running job was terminated");
});

const ROOT_WARNING = /^jobworker: warning: jobs run as root \(--run-as root\)/m;

test("a bare --listen PORT listens on loopback; a root serve confines jobs, each identity its own uid", async () => {
  const s = await serve(["--listen", "0"]);
  try {
    assert.match(s.stderr(), /listening on https:\/\/127\.0\.0\.1:\d+ /);
    if (process.getuid?.() === 0) assert.match(s.stderr(), /^jobworker: confinement: each identity its own uid, no capability, no_new_privs, a seccomp filter/m);
    else assert.match(s.stderr(), /^jobworker: confinement: none \(the server is not root\)/m);
    assert.doesNotMatch(s.stderr(), /jobs run as root/);
  } finally {
    s.child.kill("SIGTERM");
  }
  assert.equal(await s.exited, 0);
});

test("with --run-as nobody, serve says identities share that uid; --run-as root warns", { skip: process.getuid?.() !== 0 && "--run-as needs root" }, async () => {
  const s = await serve(["--run-as", "nobody"]);
  try {
    assert.match(s.stderr(), /confinement: every job as nobody \(uid 65534\): identities share that uid/);
    assert.doesNotMatch(s.stderr(), /jobs run as root/);
  } finally {
    s.child.kill("SIGTERM");
  }
  assert.equal(await s.exited, 0);
  const r = await serve(["--run-as", "root"]);
  try {
    assert.match(r.stderr(), ROOT_WARNING);
    assert.match(r.stderr(), /confinement: none \(--run-as root\)/);
  } finally {
    r.child.kill("SIGTERM");
  }
  assert.equal(await r.exited, 0);
});

test("errors are one line: missing files, partial TLS flags, a taken port", async () => {
  const [cmd, argv] = cli(["serve", "--home", home, "--listen", "127.0.0.1:0", "--ca", join(home, "nope.pem"), "--cert", "x", "--key", "y"]);
  const missing = await run(cmd, argv).then(() => assert.fail("should fail"), (e: { code: number; stderr: string }) => e);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^jobworker: .*not found: .*nope\.pem \(.*certs init.*\)\n$/);
  const [cmd2, argv2] = cli(["serve", "--home", home, "--ca", join(home, "pki/ca.pem")]);
  const partial = await run(cmd2, argv2).then(() => assert.fail("should fail"), (e: { code: number; stderr: string }) => e);
  assert.equal(partial.code, 2);
  assert.equal(partial.stderr.trim().split("\n").length, 1);
  assert.match(partial.stderr, /--ca, --cert and --key go together/);
  const s = await serve([]);
  try {
    // Its own data directory: the first server owns the default one (test/e2e/data-dir-lock.test.ts).
    const [cmd3, argv3] = cli(["serve", "--home", home, "--data-dir", join(home, "other-data"), "--listen", `127.0.0.1:${s.port}`]);
    const taken = await run(cmd3, argv3).then(() => assert.fail("should fail"), (e: { code: number; stderr: string }) => e);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /^jobworker: cannot listen on 127\.0\.0\.1:\d+: the address is already in use \(.*\)\n$/);
  } finally {
    s.child.kill("SIGTERM");
  }
  assert.equal(await s.exited, 0);
});

test("resource control: limit flags it cannot enforce are one line and exit 2; malformed sizes are usage errors", async () => {
  const [cmd, argv] = cli(["serve", "--home", home, "--listen", "127.0.0.1:0", "--no-cgroups", "--max-pids", "10"]);
  const refused = await run(cmd, argv).then(() => assert.fail("should fail"), (e: { code: number; stderr: string }) => e);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^jobworker: this server cannot enforce a pids limit: cgroups are turned off \(.*\)\n$/);
  const [cmd2, argv2] = cli(["serve", "--home", home, "--max-memory", "lots"]);
  const bad = await run(cmd2, argv2).then(() => assert.fail("should fail"), (e: { code: number; stderr: string }) => e);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /expected a size in bytes/);
  const [cmd3, argv3] = cli(["serve", "--home", home, "--run-as", "no-such-user-jobworker"]);
  const user = await run(cmd3, argv3).then(() => assert.fail("should fail"), (e: { code: number; stderr: string }) => e);
  assert.equal(user.code, 2);
  assert.match(user.stderr, /--run-as: unknown user: no-such-user-jobworker/);
});

test("resource control: serve says what it can enforce, and applies its maxima", { skip: process.getuid?.() !== 0 && "needs root (cgroups)" }, async () => {
  const s = await serve(["--max-memory", "1G", "--default-pids", "128"]);
  try {
    assert.match(s.stderr(), /^jobworker: cgroups: every job gets its own cgroup, .*limits enforced: memory/m);
    const refused = await curlDefault(s.port, "/jobs", ["-X", "PUT", "-H", "content-type: application/json", "-d", '{"cmd":"true","limits":{"memory_bytes":2147483648}}']);
    assert.deepEqual(JSON.parse(refused), { error: "memory limit 2147483648 bytes is above this server's maximum of 1073741824 bytes", code: "LIMIT_ABOVE_MAXIMUM" });
    const created = JSON.parse(await curlDefault(s.port, "/jobs", ["-X", "PUT", "-H", "content-type: application/json", "-d", '{"cmd":"true"}']));
    await curlDefault(s.port, `/jobs/${created.id}/stdout?follow=true`);
    const record = JSON.parse(await curlDefault(s.port, `/jobs/${created.id}`));
    assert.deepEqual(record.limits, { memory_bytes: 1073741824, pids: 128 });
  } finally {
    s.child.kill("SIGTERM");
  }
  assert.equal(await s.exited, 0);
});

test("a key that is not the certificate's, or a certificate the CA did not sign, is one line at start-up", async () => {
  const pki = join(home, "pki");
  const [cmd, argv] = cli(["serve", "--home", home, "--listen", "127.0.0.1:0", "--ca", join(pki, "ca.pem"), "--cert", join(pki, "server.pem"), "--key", join(pki, "clients/default.key")]);
  const wrongKey = await run(cmd, argv).then(() => assert.fail("should fail"), (e: { code: number; stderr: string }) => e);
  assert.equal(wrongKey.code, 1);
  assert.match(wrongKey.stderr, /^jobworker: the server key .*clients\/default\.key does not match the certificate .*server\.pem \(.*\)\n$/);
  // A client certificate of the same CA is signed by it, but here the CA is the client's own certificate.
  const [cmd2, argv2] = cli(["serve", "--home", home, "--listen", "127.0.0.1:0", "--ca", join(pki, "clients/default.pem"), "--cert", join(pki, "server.pem"), "--key", join(pki, "server.key")]);
  const unsigned = await run(cmd2, argv2).then(() => assert.fail("should fail"), (e: { code: number; stderr: string }) => e);
  assert.equal(unsigned.code, 1);
  assert.match(unsigned.stderr, /^jobworker: the server certificate .*server\.pem is not signed by the CA .*default\.pem \(.*\)\n$/);
});
