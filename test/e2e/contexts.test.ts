// `jobworker context …` and `--context` / JOBWORKER_CONTEXT through the built binary,
// against real servers on loopback: the stored file, the checks made when a context is
// added, and the precedence flags > environment > context > defaults.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cli } from "./fixtures.js";
import { createFleet, type Fleet } from "./fleet-fixtures.js";

describe("jobworker context (e2e)", () => {
  let fleet: Fleet;
  let config: string;
  before(async () => {
    fleet = await createFleet(3);
    config = join(fleet.home, "config.json");
  });
  after(async () => {
    await fleet?.close();
  });

  /** Which of the fleet's servers holds job `id` (its index), asked of each pool. */
  function serverOf(id: string): number {
    const found = fleet.servers.findIndex((s) => s.pool.list({}).some((j) => j.id === id));
    assert.notEqual(found, -1, `job ${id} is on none of the servers`);
    return found;
  }

  async function startOn(args: string[], env: NodeJS.ProcessEnv = fleet.env): Promise<number> {
    const r = await cli(["start", ...args, "--", "true"], env);
    assert.equal(r.code, 0, r.stderr);
    return serverOf(r.stdout.toString().trim());
  }

  it("with no config.json, client commands behave as before and create none", async () => {
    const r = await cli(["start", "--", "true"], { ...fleet.env, JOBWORKER_SERVER: fleet.servers[2]!.url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(serverOf(r.stdout.toString().trim()), 2);
    await assert.rejects(stat(config), { code: "ENOENT" });
    const list = await cli(["context", "list"], fleet.env);
    assert.equal(list.code, 0);
    assert.equal(list.stdout.toString(), "");
    assert.match(list.stderr, /no contexts in .*config\.json/);
  });

  it("refuses a key that is not the certificate's, a CA file that is no CA, a missing file, and writes nothing", async () => {
    const cases: [string[], RegExp][] = [
      [["--key", fleet.pki.serverKey], /the key .*server\.key does not belong to the certificate .*default\.pem/],
      [["--ca", fleet.pki.serverCert], /the CA certificate .*server\.pem is not a CA certificate/],
      [["--cert", join(fleet.home, "nope.pem")], /cannot read the client certificate .*nope\.pem: no such file/],
      [["--ca", fleet.pki.caKey], /the CA certificate .*ca\.key is not usable: it holds no PEM certificate/],
    ];
    for (const [flags, message] of cases) {
      const r = await cli(["context", "add", "bad", "--server", fleet.servers[0]!.url, ...flags], fleet.env);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split("\n").length, 2, r.stderr); // one line
    }
    const usage = await cli(["context", "add", "all", "--server", fleet.servers[0]!.url], fleet.env);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /"all" cannot be a context name/);
    const http = await cli(["context", "add", "x", "--server", "http://127.0.0.1:1"], fleet.env);
    assert.equal(http.code, 2);
    await assert.rejects(stat(config), { code: "ENOENT" });
  });

  it("adds, lists, uses, shows and removes contexts in <home>/config.json, mode 0600", async () => {
    const [s0, s1, s2] = fleet.servers.map((s) => s.url);
    for (const [name, url] of [["web0", s0], ["web1", s1], ["web2", s2]] as const) {
      const r = await cli(["context", "add", name, "--server", url!], fleet.env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout.toString(), new RegExp(`^added context ${name}: ${url}`));
    }
    const other = await cli(
      ["context", "add", "other", "--server", fleet.otherServer.url, "--ca", fleet.otherPki.caCert, "--cert", fleet.otherPki.clientCert("other"), "--key", fleet.otherPki.clientKey("other")],
      fleet.env,
    );
    assert.equal(other.code, 0, other.stderr);
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    const stored = JSON.parse(await readFile(config, "utf8"));
    assert.deepEqual(stored.contexts.web0, { server: s0, ca: fleet.pki.caCert, cert: fleet.pki.clientCert("default"), key: fleet.pki.clientKey("default") });
    assert.equal(stored.current_context, undefined);

    const again = await cli(["context", "add", "web0", "--server", s1!], fleet.env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /a context named "web0" exists already .*--force/);

    const use = await cli(["context", "use", "web1"], fleet.env);
    assert.equal(use.code, 0, use.stderr);
    const list = await cli(["context", "list"], fleet.env);
    assert.deepEqual(list.stdout.toString().split("\n").map((l) => l.split(/\s+/).filter(Boolean)), [
      ["CURRENT", "NAME", "SERVER"],
      ["other", fleet.otherServer.url],
      ["web0", s0],
      ["*", "web1", s1],
      ["web2", s2],
      [],
    ]);
    const show = await cli(["context", "show"], fleet.env);
    assert.match(show.stdout.toString(), /^name +web1 \(in use\)\nserver +https:\/\/127\.0\.0\.1:\d+\nca /);
    const showJson = JSON.parse((await cli(["context", "show", "other", "--json"], fleet.env)).stdout.toString());
    assert.deepEqual(showJson, { name: "other", server: fleet.otherServer.url, ca: fleet.otherPki.caCert, cert: fleet.otherPki.clientCert("other"), key: fleet.otherPki.clientKey("other"), current: false });

    // The context's own files reach the server of the other CA.
    const r = await cli(["list", "--context", "other"], fleet.env);
    assert.equal(r.code, 0, r.stderr);

    const unknown = await cli(["context", "use", "nope"], fleet.env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no context named "nope" .*known contexts: other, web0, web1, web2/);
    const before = await readFile(config, "utf8");
    const badName = await cli(["context", "add", "a/b", "--server", s0!], fleet.env);
    assert.equal(badName.code, 2);
    assert.equal(await readFile(config, "utf8"), before);
  });

  it("takes a setting from a flag, else the environment, else the context, else the default", async () => {
    const [s0, , s2] = fleet.servers.map((s) => s.url);
    // The current context (web1, from the test before).
    assert.equal(await startOn([]), 1);
    // JOBWORKER_CONTEXT beats the current context; --context beats JOBWORKER_CONTEXT.
    assert.equal(await startOn([], { ...fleet.env, JOBWORKER_CONTEXT: "web2" }), 2);
    assert.equal(await startOn(["--context", "web0"], { ...fleet.env, JOBWORKER_CONTEXT: "web2" }), 0);
    // JOBWORKER_SERVER beats the context's server; --server beats JOBWORKER_SERVER.
    assert.equal(await startOn(["--context", "web1"], { ...fleet.env, JOBWORKER_SERVER: s2 }), 2);
    assert.equal(await startOn(["--server", s0!], { ...fleet.env, JOBWORKER_SERVER: s2 }), 0);
    // Settings are taken one by one: the context "other" with the home's client
    // certificate from the environment is refused by the other CA's server.
    const mixed = await cli(["list", "--context", "other"], { ...fleet.env, JOBWORKER_CERT: fleet.pki.clientCert("default"), JOBWORKER_KEY: fleet.pki.clientKey("default") });
    assert.equal(mixed.code, 1);
    assert.match(mixed.stderr, /refused the client certificate .*default\.pem/);
    const missing = await cli(["list", "--context", "nope"], fleet.env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^jobworker: no context named "nope"/);
  });

  it("removes contexts; removing the current one leaves none current", async () => {
    const r = await cli(["context", "remove", "web1"], fleet.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /removed context web1 \(it was the current one/);
    const stored = JSON.parse(await readFile(config, "utf8"));
    assert.deepEqual(Object.keys(stored.contexts).sort(), ["other", "web0", "web2"]);
    assert.equal(stored.current_context, undefined);
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    // No current context: the defaults again (here JOBWORKER_SERVER).
    assert.equal(await startOn([], { ...fleet.env, JOBWORKER_SERVER: fleet.servers[2]!.url }), 2);
    const gone = await cli(["context", "remove", "web1"], fleet.env);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no context named "web1"/);
  });

  it("names config.json and the fix when the file is not valid", async () => {
    const saved = await readFile(config, "utf8");
    try {
      await writeFile(config, "{ not json");
      const r = await cli(["list"], fleet.env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^jobworker: .*config\.json is not a valid jobworker configuration: it is not JSON .*\(fix it, or remove it/);
      await writeFile(config, JSON.stringify({ contexts: { a: { server: "https://x:1" } } }));
      const shape = await cli(["context", "list"], fleet.env);
      assert.equal(shape.code, 1);
      assert.match(shape.stderr, /context "a" needs "ca"/);
    } finally {
      await writeFile(config, saved);
    }
  });
});
