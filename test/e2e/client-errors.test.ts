// Every failure the client CLI reports: one line on stderr naming the fix, no stack
// trace, exit 1 (2 for usage). Against a real server and real TLS refusals.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { cli, createWorld, type CliResult, type TestWorld } from "./fixtures.js";

/**
 * A port nothing listens on: 1 (tcpmux), which no test binds. A port once bound to 0 and
 * closed could be handed to another test file's server meanwhile.
 */
async function deadPort(): Promise<number> {
  return 1;
}

/** Asserts a failure reported as exactly one "jobworker: …" line. */
function assertOneLine(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout.length, 0, r.stdout.toString());
  assert.match(r.stderr, /^jobworker: [^\n]+\n$/, r.stderr);
  assert.match(r.stderr, pattern);
}

describe("client errors (e2e)", () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld({ queue: { maxRunningPerOwner: 1, maxQueuedPerOwner: 0 } });
  });
  after(async () => {
    await world?.close();
  });

  it("server not reachable: names the address and asks whether serve runs", async () => {
    const url = `https://127.0.0.1:${await deadPort()}`;
    const r = await cli(["list"], { ...world.env, JOBWORKER_SERVER: url });
    assertOneLine(r, 1, new RegExp(`cannot reach the server at ${url}: connection refused \\(is \`jobworker serve\` running there\\?`));
    const run = await cli(["run", "--server", url, "--", "true"], world.env);
    assertOneLine(run, 1, /connection refused/);
  });

  it("missing certificate files: names the file and the fix", async () => {
    const r = await cli(["list", "--cert", "/nonexistent/me.pem"], world.env);
    assertOneLine(r, 1, /cannot read the client certificate \/nonexistent\/me\.pem: no such file \(`jobworker certs issue NAME` on the server makes a client certificate and key .*: copy them here, or pass --cert/);
    const empty = join(world.home, "empty-home");
    await mkdir(empty, { recursive: true });
    const h = await cli(["status", "x"], { ...world.env, JOBWORKER_HOME: empty });
    assertOneLine(h, 1, new RegExp(`cannot read the CA certificate ${empty}/pki/ca\\.pem: no such file \\(copy the server's ca\\.pem `));
    const k = await cli(["list", "--key", world.pki.clientKey("bob")], world.env);
    assertOneLine(k, 1, /does not belong to the certificate/);
  });

  it("a certificate from another CA: the server refuses it", async () => {
    const r = await cli(["list", "--cert", world.otherPki.clientCert("mallory"), "--key", world.otherPki.clientKey("mallory")], world.env);
    assertOneLine(r, 1, /^jobworker: the server at https:\/\/127\.0\.0\.1:\d+ refused the client certificate \/.*mallory\.pem: it is signed by another CA of the same name \(CN=jobworker CA\), not by the server's CA \(`jobworker certs issue NAME` on the server/);
  });

  it("a certificate without clientAuth (the server's own): says so", async () => {
    const r = await cli(["list", "--cert", world.pki.serverCert, "--key", world.pki.serverKey], world.env);
    assertOneLine(r, 1, /refused the client certificate \/.*server\.pem: it lacks the clientAuth extended key usage \(it is not a client certificate\) \(/);
  });

  it("a server certificate we do not trust: asks for --ca", async () => {
    const r = await cli(["list", "--ca", world.otherPki.caCert], world.env);
    assertOneLine(r, 1, /the server's certificate at https:\/\/127\.0\.0\.1:\d+ is not trusted: .*\(pass --ca/);
  });

  it("unknown job id: exit 1, one line", async () => {
    for (const cmd of ["status", "output", "stop", "delete"]) {
      const r = await cli([cmd, "0a5f5a3e-0000-4000-8000-000000000000"], world.env);
      assertOneLine(r, 1, /^jobworker: no such job: 0a5f5a3e-0000-4000-8000-000000000000 \(it does not exist or belongs to another identity; `jobworker list` shows yours\)\n$/);
    }
  });

  it("limit reached: says so and how to free a slot", async () => {
    const first = await cli(["start", "--", "sleep", "30"], world.env);
    assert.equal(first.code, 0, first.stderr);
    const second = await cli(["start", "--", "sleep", "30"], world.env);
    assertOneLine(second, 1, /^jobworker: limit reached: too many running jobs: this client may run at most 1 at once \(wait for some of your jobs to end, or stop some/);
    // The advice once, not the server's and the client's both.
    assert.equal(second.stderr.match(/wait for/g)?.length, 1, second.stderr);
    await cli(["delete", first.stdout.toString().trim()], world.env);
  });

  it("a request the server refuses: BAD_REQUEST with its reason", async () => {
    const r = await cli(["start", "--", ""], world.env);
    assertOneLine(r, 1, /^jobworker: the server refused the request: \S/);
  });

  it("with --json, a failure is one JSON object on stderr in the API's error shape; stdout stays empty", async () => {
    const unknownJob = "00000000-0000-4000-8000-000000000000";
    const notFound = await cli(["status", "--json", unknownJob], world.env);
    assert.equal(notFound.code, 1);
    assert.equal(notFound.stdout.length, 0);
    assert.match(notFound.stderr, /^\{[^\n]*\}\n$/);
    const body = JSON.parse(notFound.stderr);
    assert.equal(body.code, "JOB_NOT_FOUND");
    assert.equal(body.server_code, "JOB_NOT_FOUND");
    assert.equal(body.status, 404);
    assert.match(body.error, new RegExp(`no such job: ${unknownJob}`));
    assert.equal(typeof body.hint, "string");
    const unreachable = await cli(["list", "--json", "--server", `https://127.0.0.1:${await deadPort()}`], world.env);
    assert.equal(unreachable.code, 1);
    assert.deepEqual(Object.keys(JSON.parse(unreachable.stderr)), ["error", "code", "hint"]);
    assert.equal(JSON.parse(unreachable.stderr).code, "SERVER_UNREACHABLE");
    // Without --json, and for the job's own --json (after CMD), the usual line.
    const text = await cli(["run", "--server", `https://127.0.0.1:${await deadPort()}`, "--", "echo", "--json"], world.env);
    assertOneLine(text, 1, /cannot reach the server/);
  });

  it("usage errors exit 2", async () => {
    const a = await cli(["status"], world.env);
    assert.equal(a.code, 2);
    const b = await cli(["list", "--bogus"], world.env);
    assert.equal(b.code, 2);
    const c = await cli(["run"], world.env);
    assert.equal(c.code, 2);
    const d = await cli(["list", "--server", "http://127.0.0.1:1"], world.env);
    assertOneLine(d, 2, /the server URL must be https/);
  });
});
