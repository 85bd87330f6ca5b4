// The `jobworker certs` commands through the built binary (dist/cli/main.js): exit
// codes, summaries, one-line errors.
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { chmod, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { pkiPaths } from "../../src/pki/index.js";
import { isRoot, makeWritable, openssl, snapshot, tempDir } from "../pki/helpers.js";
import { checkoutReachableBy } from "../helpers/checkout-for-user.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const main = join(root, "dist", "cli", "main.js");

/** Newest modification time of the sources this test exercises. */
function newestSource(): number {
  const files = [join(root, "src", "cli", "commands", "certs.ts"), join(root, "src", "cli", "main.ts")];
  for (const name of readdirSync(join(root, "src", "pki"))) files.push(join(root, "src", "pki", name));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

/**
 * `npm test` builds before running the tests; a single file run builds only when
 * dist is missing or older than the sources, so concurrent test files do not rewrite
 * dist under each other.
 */
function ensureBuilt(): void {
  if (existsSync(main) && statSync(join(root, "dist", "cli", "commands", "certs.js")).mtimeMs >= newestSource()) return;
  const r = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, encoding: "utf8" });
  // Another part of the tree may not typecheck yet; what matters is that dist was emitted.
  assert.ok(existsSync(main), `build failed: ${r.stdout}${r.stderr}`);
}

function cli(args: string[], options: SpawnSyncOptions = {}, mainPath = main) {
  const r = spawnSync(process.execPath, [mainPath, ...args], {
    encoding: "utf8",
    ...options,
    env: { ...process.env, JOBWORKER_HOME: "/nonexistent-jobworker-home", ...options.env },
  });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A refusal is exactly one line on stderr, prefixed "jobworker:", with no stack trace. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.split("\n").filter(Boolean);
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /\n\s+at |PkiError|node:internal/);
}

describe("jobworker certs (built CLI)", () => {
  before(ensureBuilt);

  it("init writes the files, prints one line per file, and exits 0", async () => {
    const dir = join(await tempDir(), "pki");
    const r = cli(["certs", "init", "--dir", dir, "--client", "alice", "--client", "bob", "--host", "jobs.example.com", "--host", "::1"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    const p = pkiPaths(dir);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 9);
    for (const file of [p.caCert, p.caKey, p.serverCert, p.serverKey, p.clientCert("alice"), p.clientKey("bob"), p.crl]) {
      assert.ok(lines.some((l) => l.includes(file)), `${file} not in summary:\n${r.stdout}`);
    }
    assert.match(r.stdout, /server certificate\s+\S+server\.pem\s+\(jobs\.example\.com, ::1\)/);
    const v = openssl(["verify", "-CAfile", p.caCert, p.serverCert, p.clientCert("alice"), p.clientCert("bob")]);
    assert.equal(v.status, 0, v.all);
  });

  it("refuses to overwrite: exit 1, one line naming the file and --force, nothing changed", async () => {
    const dir = await tempDir();
    assert.equal(cli(["certs", "init", "--dir", dir]).status, 0);
    const before = await snapshot(dir);
    const r = cli(["certs", "init", "--dir", dir]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assertOneLineError(r.stderr, /^jobworker: refusing to overwrite .*ca\.key: it already exists \(use --force to replace it\)$/);
    assert.deepEqual(await snapshot(dir), before);

    const forced = cli(["certs", "init", "--dir", dir, "--force"]);
    assert.equal(forced.status, 0, forced.stderr);
  });

  it("usage mistakes exit 2 with one line: bad names, bad hosts, bad --days", async () => {
    const dir = await tempDir();
    assert.equal(cli(["certs", "init", "--dir", dir]).status, 0);
    for (const name of ["../x", "a/b", "", "x".repeat(65), "bell\u0007"]) {
      const r = cli(["certs", "issue", name, "--dir", dir]);
      assert.equal(r.status, 2, `${JSON.stringify(name)}: ${r.stderr}`);
      assertOneLineError(r.stderr, /^jobworker: invalid client name/);
    }
    const host = cli(["certs", "server", "--dir", dir, "--host", "no spaces allowed", "--force"]);
    assert.equal(host.status, 2);
    assertOneLineError(host.stderr, /^jobworker: invalid host "no spaces allowed"/);
    const days = cli(["certs", "issue", "bob", "--dir", dir, "--days", "soon"]);
    assert.equal(days.status, 2);
    assertOneLineError(days.stderr, /--days/);
    assert.deepEqual((await readdir(pkiPaths(dir).clientsDir)).sort(), ["default.key", "default.pem"]);
  });

  it("issue without a CA: exit 1, says to run certs init", async () => {
    const parent = await tempDir();
    const r = cli(["certs", "issue", "bob", "--dir", join(parent, "pki")]);
    assert.equal(r.status, 1);
    assertOneLineError(r.stderr, /^jobworker: no CA in .*: .*ca\.pem is missing \(run "jobworker certs init --dir .*" first\)$/);
    assert.deepEqual(await readdir(parent), []);
  });

  it("issue, server and revoke work end to end; --home and JOBWORKER_HOME choose HOME/pki", async () => {
    const home = join(await tempDir(), "home");
    assert.equal(cli(["certs", "init", "--home", home]).status, 0);
    const p = pkiPaths(join(home, "pki"));
    assert.ok(existsSync(p.clientCert("default")));

    const issued = cli(["certs", "issue", "carol", "--days", "10"], { env: { JOBWORKER_HOME: home } });
    assert.equal(issued.status, 0, issued.stderr);
    assert.match(issued.stdout, /^client carol\s+\S+carol\.pem\s+\(until \d{4}-\d\d-\d\d\)\nclient carol key\s+\S+carol\.key\n$/);

    const again = cli(["certs", "issue", "carol", "--home", home]);
    assert.equal(again.status, 1);
    assertOneLineError(again.stderr, /carol\.key: it already exists \(use --force/);

    const server = cli(["certs", "server", "--home", home, "--host", "build.internal", "--force"]);
    assert.equal(server.status, 0, server.stderr);
    assert.match(server.stdout, /server certificate\s+\S+server\.pem\s+\(build\.internal; until/);

    const revoked = cli(["certs", "revoke", "carol", "--home", home]);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stdout, /^revoked carol \(serial [0-9a-f]{32}\); \S+crl\.pem now lists 1 revoked certificate\na running server enforces it after SIGHUP .*\n$/);
    const v = openssl(["verify", "-crl_check", "-CRLfile", p.crl, "-CAfile", p.caCert, p.clientCert("carol")]);
    assert.match(v.all, /certificate revoked/);

    const twice = cli(["certs", "revoke", "carol", "--home", home]);
    assert.equal(twice.status, 0);
    assert.match(twice.stdout, /already revoked/);

    const unknown = cli(["certs", "revoke", "zed", "--home", home]);
    assert.equal(unknown.status, 1);
    assertOneLineError(unknown.stderr, /^jobworker: no certificate to revoke: .*zed\.pem is missing/);
  });

  it("an unwritable, then an unreadable directory: exit 1, one line saying permission denied", async (t) => {
    const parent = await tempDir();
    await chmod(parent, 0o755); // let the unprivileged user reach `dir`
    const dir = join(parent, "pki");
    await mkdir(dir, { mode: 0o755 });
    let options: SpawnSyncOptions = {};
    let asUser = main;
    let release = () => {};
    if (isRoot) {
      // Root ignores permissions: run the CLI as nobody instead.
      if (!existsSync(main) || spawnSync(process.execPath, ["-e", "0"], { uid: 65534, gid: 65534 }).status !== 0) {
        t.skip("cannot run a process as an unprivileged user here");
        return;
      }
      options = { uid: 65534, gid: 65534, cwd: parent };
      const reachable = checkoutReachableBy(65534, 65534);
      asUser = join(reachable.root, "dist", "cli", "main.js");
      release = reachable.release;
    } else {
      await chmod(dir, 0o555);
    }
    try {
      const r = cli(["certs", "init", "--dir", dir], options, asUser);
      assert.equal(r.status, 1, r.stderr);
      assertOneLineError(r.stderr, /^jobworker: cannot .*: permission denied$/);
      assert.deepEqual(await readdir(dir), []);

      // A PKI the user may not read: issue cannot even look for the CA.
      await makeWritable(dir);
      assert.equal(cli(["certs", "init", "--dir", dir]).status, 0);
      await chmod(dir, isRoot ? 0o700 : 0o000);
      const unreadable = cli(["certs", "issue", "bob", "--dir", dir], options, asUser);
      assert.equal(unreadable.status, 1, unreadable.stderr);
      assertOneLineError(unreadable.stderr, /^jobworker: cannot .*ca\.pem: permission denied$/);
    } finally {
      release();
      await makeWritable(dir);
    }
  });
});
