// The PKI directory on disk: layout, modes, refusals that change nothing, errors.
import assert from "node:assert/strict";
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  DEFAULT_CLIENT_NAME,
  PkiError,
  createCa,
  defaultHome,
  defaultPkiDir,
  ensureDevPki,
  initPki,
  issueClientCert,
  issueServerCert,
  pkiPaths,
} from "../../src/pki/index.js";
import { certText, isRoot, makeWritable, openssl, snapshot, tempDir } from "./helpers.js";

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe("paths and defaults", () => {
  it("JOBWORKER_HOME, else ~/.jobworker; the PKI lives in <home>/pki", () => {
    const saved = process.env.JOBWORKER_HOME;
    try {
      process.env.JOBWORKER_HOME = "/srv/jw";
      assert.equal(defaultHome(), "/srv/jw");
      assert.equal(defaultPkiDir(), "/srv/jw/pki");
      delete process.env.JOBWORKER_HOME;
      assert.equal(defaultHome(), join(homedir(), ".jobworker"));
      assert.equal(defaultPkiDir("/h"), "/h/pki");
    } finally {
      if (saved === undefined) delete process.env.JOBWORKER_HOME;
      else process.env.JOBWORKER_HOME = saved;
    }
  });

  it("pkiPaths is the documented layout", () => {
    const p = pkiPaths("/d");
    assert.deepEqual(
      [p.caCert, p.caKey, p.serverCert, p.serverKey, p.crl, p.clientCert("a"), p.clientKey("a")],
      ["/d/ca.pem", "/d/ca.key", "/d/server.pem", "/d/server.key", "/d/crl.pem", "/d/clients/a.pem", "/d/clients/a.key"],
    );
  });
});

describe("initPki", () => {
  it("writes the files with keys 0600, directories 0700, PKCS#8 keys, no temporaries left", async () => {
    const dir = join(await tempDir(), "home", "pki");
    const result = await initPki({ dir });
    const p = pkiPaths(dir);
    assert.equal(DEFAULT_CLIENT_NAME, "default");
    assert.deepEqual(result.clients.map((c) => c.name), ["default"]);
    assert.deepEqual((await readdir(dir)).sort(), ["ca.key", "ca.pem", "clients", "crl.pem", "server.key", "server.pem"]);
    assert.deepEqual((await readdir(p.clientsDir)).sort(), ["default.key", "default.pem"]);
    for (const key of [p.caKey, p.serverKey, p.clientKey("default")]) {
      assert.equal(await mode(key), 0o600, key);
      assert.match(await readFile(key, "utf8"), /^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n$/);
    }
    for (const cert of [p.caCert, p.serverCert, p.clientCert("default"), p.crl]) assert.equal(await mode(cert), 0o644, cert);
    for (const d of [dir, p.clientsDir, join(dir, "..")]) assert.equal(await mode(d), 0o700, d);
    assert.deepEqual(result.written.sort(), [p.caCert, p.caKey, p.clientCert("default"), p.clientKey("default"), p.crl, p.serverCert, p.serverKey].sort());
  });

  it("takes hosts, several clients and --days", async () => {
    const dir = await tempDir();
    const result = await initPki({ dir, hosts: ["jobs.example.com", "10.0.0.5", "fd00::5"], clients: ["alice", "bob", "alice"], days: 30 });
    assert.deepEqual(result.clients.map((c) => c.name), ["alice", "bob"]);
    const text = certText(pkiPaths(dir).serverCert);
    assert.match(text, /DNS:jobs\.example\.com, IP Address:10\.0\.0\.5, IP Address:FD00:0:0:0:0:0:0:5/i);
    assert.doesNotMatch(text, /localhost/);
    const end = openssl(["x509", "-in", pkiPaths(dir).clientCert("bob"), "-noout", "-enddate"]).stdout;
    const days = (Date.parse(end.slice("notAfter=".length)) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days < 30.1, `${days}`);
  });

  it("refuses to overwrite without force, naming the file, and changes nothing", async () => {
    const dir = await tempDir();
    await initPki({ dir, clients: ["alice"] });
    const before = await snapshot(dir);
    await assert.rejects(initPki({ dir, clients: ["alice"] }), (err: unknown) => {
      assert.ok(err instanceof PkiError);
      assert.equal(err.code, "PKI_EXISTS");
      assert.equal(err.message, `refusing to overwrite ${join(dir, "ca.key")}: it already exists`);
      assert.match(err.hint ?? "", /--force/);
      return true;
    });
    assert.deepEqual(await snapshot(dir), before);
  });

  it("refuses when any single target exists, before creating anything else", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "clients"));
    await writeFile(join(dir, "clients", "bob.key"), "mine");
    const before = await snapshot(dir);
    await assert.rejects(initPki({ dir, clients: ["alice", "bob"] }), {
      code: "PKI_EXISTS",
      message: `refusing to overwrite ${join(dir, "clients", "bob.key")}: it already exists`,
    });
    assert.deepEqual(await snapshot(dir), before);
  });

  it("with force, replaces everything with a new CA", async () => {
    const dir = await tempDir();
    const first = await initPki({ dir });
    const oldCa = await readFile(pkiPaths(dir).caCert, "utf8");
    const second = await initPki({ dir, force: true });
    assert.notEqual(second.caSerial, first.caSerial);
    assert.notEqual(await readFile(pkiPaths(dir).caCert, "utf8"), oldCa);
    assert.equal(await mode(pkiPaths(dir).caKey), 0o600);
    const p = pkiPaths(dir);
    assert.equal(openssl(["verify", "-CAfile", p.caCert, p.serverCert, p.clientCert("default")]).status, 0);
  });

  it("refuses bad client names and hosts before creating the directory", async () => {
    const parent = await tempDir();
    const dir = join(parent, "pki");
    for (const name of ["../x", "a/b", "", "bad\u0001name", "x".repeat(65)]) {
      await assert.rejects(initPki({ dir, clients: [name] }), { code: "PKI_INVALID_NAME" }, JSON.stringify(name));
    }
    await assert.rejects(initPki({ dir, hosts: ["not a host"] }), { code: "PKI_INVALID_HOST" });
    await assert.rejects(initPki({ dir, days: 0 }), { code: "PKI_INVALID_VALIDITY" });
    await assert.rejects(initPki({ dir, days: 5000 }), { code: "PKI_INVALID_VALIDITY", message: /outlive the CA/ });
    assert.deepEqual(await readdir(parent), []);
  });

  it("reports an unwritable location as PKI_IO", async () => {
    const parent = await tempDir();
    await writeFile(join(parent, "file"), "not a directory");
    await assert.rejects(initPki({ dir: join(parent, "file", "pki") }), (err: unknown) => {
      assert.ok(err instanceof PkiError);
      assert.equal(err.code, "PKI_IO");
      assert.match(err.message, /^cannot create directory .*file\/pki: a part of the path is not a directory$/);
      return true;
    });
  });

  it("reports a read-only directory as PKI_IO: permission denied, leaving nothing behind", async (t) => {
    if (isRoot) {
      t.skip("running as root: permissions do not stop root");
      return;
    }
    const dir = await tempDir();
    await chmod(dir, 0o500);
    try {
      await assert.rejects(initPki({ dir }), { code: "PKI_IO", message: /permission denied/ });
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await makeWritable(dir);
    }
  });
});

describe("issueClientCert and issueServerCert", () => {
  it("issue needs a CA: PKI_NO_CA with the init command as hint, nothing created", async () => {
    const parent = await tempDir();
    const dir = join(parent, "pki");
    await assert.rejects(issueClientCert({ dir, name: "alice" }), (err: unknown) => {
      assert.ok(err instanceof PkiError);
      assert.equal(err.code, "PKI_NO_CA");
      assert.match(err.message, /ca\.pem is missing/);
      assert.match(err.hint ?? "", /certs init/);
      return true;
    });
    assert.deepEqual(await readdir(parent), []);
  });

  it("issues a client signed by the CA; refuses an existing name without force; replaces it with force", async () => {
    const dir = await tempDir();
    await initPki({ dir });
    const p = pkiPaths(dir);
    const first = await issueClientCert({ dir, name: "ci@build-01" });
    assert.equal(first.certPath, p.clientCert("ci@build-01"));
    assert.equal(await mode(first.keyPath), 0o600);
    assert.equal(openssl(["verify", "-CAfile", p.caCert, first.certPath]).status, 0);
    assert.match(certText(first.certPath), /Subject: CN = ci@build-01\n/);

    const before = await snapshot(dir);
    await assert.rejects(issueClientCert({ dir, name: "ci@build-01" }), { code: "PKI_EXISTS", message: /ci@build-01\.key/ });
    assert.deepEqual(await snapshot(dir), before);

    const second = await issueClientCert({ dir, name: "ci@build-01", force: true, days: 7 });
    assert.notEqual(second.serial, first.serial);
    assert.ok(second.notAfter.getTime() < Date.now() + 8 * 86_400_000);
  });

  it("refuses bad names and a validity beyond the CA's", async () => {
    const dir = await tempDir();
    await initPki({ dir });
    for (const name of ["../x", "a/b", "", "tab\tname", "x".repeat(65)]) {
      await assert.rejects(issueClientCert({ dir, name }), { code: "PKI_INVALID_NAME" });
    }
    await assert.rejects(issueClientCert({ dir, name: "x", days: 4000 }), { code: "PKI_INVALID_VALIDITY" });
    assert.deepEqual((await readdir(pkiPaths(dir).clientsDir)).sort(), ["default.key", "default.pem"]);
  });

  it("refuses a CA key that does not belong to ca.pem, and an unreadable key", async () => {
    const dir = await tempDir();
    await initPki({ dir });
    const p = pkiPaths(dir);
    await writeFile(p.caKey, (await createCa()).keyPem);
    await assert.rejects(issueClientCert({ dir, name: "x" }), { code: "PKI_BAD_CA", message: /does not belong/ });
    await rm(p.caKey);
    await mkdir(p.caKey);
    await assert.rejects(issueClientCert({ dir, name: "x" }), { code: "PKI_IO", message: /^cannot read .*ca\.key/ });
  });

  it("re-issues only the server certificate with the existing CA", async () => {
    const dir = await tempDir();
    await initPki({ dir });
    const p = pkiPaths(dir);
    const ca = await readFile(p.caCert, "utf8");
    const client = await readFile(p.clientCert("default"), "utf8");
    await assert.rejects(issueServerCert({ dir, hosts: ["jobs.example.com"] }), { code: "PKI_EXISTS", message: /server\.key/ });
    const result = await issueServerCert({ dir, hosts: ["jobs.example.com", "192.0.2.7"], force: true });
    assert.deepEqual(result.hosts, ["jobs.example.com", "192.0.2.7"]);
    assert.match(certText(p.serverCert), /DNS:jobs\.example\.com, IP Address:192\.0\.2\.7/);
    assert.equal(await readFile(p.caCert, "utf8"), ca);
    assert.equal(await readFile(p.clientCert("default"), "utf8"), client);
    assert.equal(openssl(["verify", "-purpose", "sslserver", "-CAfile", p.caCert, p.serverCert]).status, 0);
  });
});

describe("ensureDevPki", () => {
  it("creates the development PKI once, then leaves it alone", async () => {
    const home = join(await tempDir(), "jw");
    assert.equal(await ensureDevPki(home), true);
    const p = pkiPaths(join(home, "pki"));
    assert.equal(openssl(["verify", "-CAfile", p.caCert, p.serverCert, p.clientCert(DEFAULT_CLIENT_NAME)]).status, 0);
    assert.match(certText(p.serverCert), /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:(0:0:0:0:0:0:0:1|::1)/);
    const before = await snapshot(home);
    assert.equal(await ensureDevPki(home), false);
    assert.deepEqual(await snapshot(home), before);
  });
});
