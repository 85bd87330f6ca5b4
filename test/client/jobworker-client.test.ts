// The typed client against a real mTLS server: every method, and the error codes of
// real refusals (no mocks of TLS or HTTP).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile, chmod, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { ClientError, JobworkerClient, parseServerUrl, loadCredentials, type ClientErrorCode } from "../../src/client/index.js";
import { revokeClientCert } from "../../src/pki/index.js";
import { createWorld, type TestWorld } from "../e2e/fixtures.js";

async function rejectsWith(promise: Promise<unknown>, code: ClientErrorCode, message?: RegExp): Promise<ClientError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ClientError, `not a ClientError: ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err.exitCode, code === "INVALID_SERVER_URL" ? 2 : 1);
  if (message) assert.match(err.message, message);
  return err;
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

describe("JobworkerClient", () => {
  let world: TestWorld;
  const clients: JobworkerClient[] = [];

  async function clientFor(name: string, overrides: Partial<ConstructorParameters<typeof JobworkerClient>[0]> = {}) {
    const creds = await loadCredentials({
      caFile: world.pki.caCert,
      certFile: world.pki.clientCert(name),
      keyFile: world.pki.clientKey(name),
    });
    const c = new JobworkerClient({ url: world.server.url, ...creds, ...overrides });
    clients.push(c);
    return c;
  }

  before(async () => {
    world = await createWorld({ queue: { maxRunningPerOwner: 2, maxQueuedPerOwner: 0 } });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.destroy()));
    await world?.close();
  });

  it("create, stream (follow, offset), status, get, output, list", async () => {
    const alice = await clientFor("alice");
    const id = await alice.create({ cmd: "sh", args: ["-c", "printf 'hello world'; printf oops >&2; exit 5"] });
    const [out, err] = await Promise.all([
      alice.stream(id, "stdout", { follow: true }).then(collect),
      alice.stream(id, "stderr", { follow: true }).then(collect),
    ]);
    assert.equal(out.toString(), "hello world");
    assert.equal(err.toString(), "oops");
    assert.equal((await collect(await alice.stream(id, "stdout", { offset: 6 }))).toString(), "world");
    assert.deepEqual(await alice.status(id), { status: "completed", exit_code: 5 });
    const record = await alice.get(id);
    assert.equal(record.id, id);
    assert.equal(record.cmd, "sh");
    assert.equal(record.exit_code, 5);
    assert.ok(!Number.isNaN(Date.parse(record.created_at)) && record.ended_at);
    assert.deepEqual(await alice.output(id), { stdout: "hello world", stderr: "oops" });
    const jobs = await alice.list();
    assert.equal(jobs[0]!.id, id);
  });

  it("stop keeps the record; delete removes it; a job that cannot start has status error", async () => {
    const alice = await clientFor("alice");
    const id = await alice.create({ cmd: "sleep", args: ["30"] });
    assert.equal((await alice.status(id)).status, "running");
    await alice.stop(id);
    assert.deepEqual(await alice.status(id), { status: "completed", exit_code: 143, signal: "SIGTERM" });
    await alice.delete(id);
    await rejectsWith(alice.status(id), "JOB_NOT_FOUND", /no such job/);

    const bad = await alice.create({ cmd: "no-such-command-xyz" });
    assert.deepEqual(await alice.status(bad), { status: "error", error_msg: "command not found: no-such-command-xyz", error_code: "COMMAND_NOT_FOUND" });
  });

  it("another identity's job is JOB_NOT_FOUND everywhere", async () => {
    const alice = await clientFor("alice");
    const bob = await clientFor("bob");
    const id = await alice.create({ cmd: "true" });
    await rejectsWith(bob.status(id), "JOB_NOT_FOUND");
    await rejectsWith(bob.get(id), "JOB_NOT_FOUND");
    await rejectsWith(bob.output(id), "JOB_NOT_FOUND");
    await rejectsWith(bob.stream(id, "stdout"), "JOB_NOT_FOUND");
    await rejectsWith(bob.stop(id), "JOB_NOT_FOUND");
    await rejectsWith(bob.delete(id), "JOB_NOT_FOUND");
    assert.ok(!(await bob.list()).some((j) => j.id === id));
  });

  it("BAD_REQUEST and LIMIT_REACHED carry the server's reason", async () => {
    const bob = await clientFor("bob");
    await rejectsWith(bob.create({ cmd: "" }), "BAD_REQUEST", /the server refused the request: ./);
    await rejectsWith(bob.create({ cmd: "ls", bogus: 1 } as never), "BAD_REQUEST");
    const a = await bob.create({ cmd: "sleep", args: ["30"] });
    const b = await bob.create({ cmd: "sleep", args: ["30"] });
    const err = await rejectsWith(bob.create({ cmd: "true" }), "LIMIT_REACHED", /^limit reached: /);
    assert.equal(err.status, 429);
    await Promise.all([bob.delete(a), bob.delete(b)]);
  });

  it("destroy() ends a request still waiting for its answer: CONNECTION_LOST, and close() waits for none", async () => {
    // A TLS server that accepts us and never answers.
    let arrived!: () => void;
    const requestArrived = new Promise<void>((r) => (arrived = r));
    const silent = createHttpsServer(
      { ca: await readFile(world.pki.caCert), cert: await readFile(world.pki.serverCert), key: await readFile(world.pki.serverKey), requestCert: true },
      () => arrived(),
    );
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const client = await clientFor("alice", { url: `https://127.0.0.1:${(silent.address() as { port: number }).port}` });
      const pending = client.list();
      await requestArrived;
      await client.destroy();
      await rejectsWith(pending, "CONNECTION_LOST");
      await client.close();
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  it("SERVER_UNREACHABLE: nothing listens, or it does not speak TLS", async () => {
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const down = await clientFor("alice", { url: `https://127.0.0.1:${port}` });
    await rejectsWith(down.list(), "SERVER_UNREACHABLE", /connection refused/);

    const http = createHttpServer((_q, s) => s.end("hi"));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    try {
      const plain = await clientFor("alice", { url: `https://127.0.0.1:${(http.address() as { port: number }).port}` });
      await rejectsWith(plain.list(), "SERVER_UNREACHABLE", /does not speak TLS/);
    } finally {
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    }
  });

  it("CERT_REJECTED: a client certificate of another CA, or a revoked one", async () => {
    const mallory = new JobworkerClient({
      url: world.server.url,
      ca: await readFile(world.pki.caCert),
      cert: await readFile(world.otherPki.clientCert("mallory")),
      key: await readFile(world.otherPki.clientKey("mallory")),
      labels: { cert: "mallory.pem" },
    });
    clients.push(mallory);
    const otherCa = await rejectsWith(mallory.list(), "CERT_REJECTED", /refused the client certificate mallory\.pem: it is signed by another CA of the same name \(CN=jobworker CA\), not by the server's CA$/);
    assert.match(otherCa.hint ?? "", /jobworker certs issue NAME` on the server/);

    // The server's own certificate has no clientAuth usage: refused, and told apart.
    const server = new JobworkerClient({
      url: world.server.url,
      ca: await readFile(world.pki.caCert),
      cert: await readFile(world.pki.serverCert),
      key: await readFile(world.pki.serverKey),
      labels: { cert: "server.pem" },
    });
    clients.push(server);
    await rejectsWith(server.list(), "CERT_REJECTED", /refused the client certificate server\.pem: it lacks the clientAuth extended key usage/);

    // Revoking needs a CRL reload; done last in this file since it changes the server.
    const carol = await clientFor("default");
    await carol.list();
    await revokeClientCert({ dir: world.pki.dir, name: "default" });
    await world.server.reloadTls();
    const again = await clientFor("default"); // a new connection: the old one was accepted before
    const revoked = await rejectsWith(again.list(), "CERT_REJECTED", /refused the client certificate: it is signed by the server's CA and valid, so it has most likely been revoked$/);
    assert.match(revoked.hint ?? "", /certs revoke/);
  });

  it("SERVER_CERT_UNTRUSTED: another CA, or a name the certificate does not list", async () => {
    const creds = await loadCredentials({ caFile: world.otherPki.caCert, certFile: world.pki.clientCert("alice"), keyFile: world.pki.clientKey("alice") });
    const other = new JobworkerClient({ url: world.server.url, ...creds });
    clients.push(other);
    await rejectsWith(other.list(), "SERVER_CERT_UNTRUSTED", /is not trusted/);
    const wrongName = await clientFor("alice", { servername: "wrong.example" });
    const err = await rejectsWith(wrongName.list(), "SERVER_CERT_UNTRUSTED");
    assert.match(err.hint ?? "", /--host/);
  });

  it("credential files: CERT_FILE_UNREADABLE and CERT_FILE_INVALID name the file", async () => {
    const files = { caFile: world.pki.caCert, certFile: world.pki.clientCert("alice"), keyFile: world.pki.clientKey("alice") };
    const missing = await rejectsWith(loadCredentials({ ...files, certFile: "/nope/x.pem" }), "CERT_FILE_UNREADABLE", /\/nope\/x\.pem: no such file/);
    assert.match(missing.hint ?? "", /^`jobworker certs issue NAME` on the server makes a client certificate and key .*copy them here, or pass --cert/);
    // A client machine gets the CA from the server: `certs init` would make another one.
    const noCa = await rejectsWith(loadCredentials({ ...files, caFile: "/nope/ca.pem" }), "CERT_FILE_UNREADABLE", /CA certificate \/nope\/ca\.pem: no such file/);
    assert.match(noCa.hint ?? "", /^copy the server's ca\.pem .* to this path, or pass --ca or JOBWORKER_CA$/);
    assert.doesNotMatch(noCa.hint ?? "", /certs init/);
    if (process.getuid?.() !== 0) {
      const locked = join(world.home, "locked.key");
      await writeFile(locked, "x");
      await chmod(locked, 0);
      await rejectsWith(loadCredentials({ ...files, keyFile: locked }), "CERT_FILE_UNREADABLE", /permission denied/);
    }
    const garbage = join(world.home, "garbage.pem");
    await writeFile(garbage, "not a certificate");
    await rejectsWith(loadCredentials({ ...files, caFile: garbage }), "CERT_FILE_INVALID", /CA certificate .*garbage\.pem/);
    await rejectsWith(loadCredentials({ ...files, certFile: garbage }), "CERT_FILE_INVALID", /client certificate/);
    await rejectsWith(loadCredentials({ ...files, keyFile: world.pki.clientKey("bob") }), "CERT_FILE_INVALID", /does not belong/);
  });

  it("INVALID_SERVER_URL: http is refused, host:port gets https", async () => {
    const creds = { ca: "", cert: "", key: "" };
    assert.throws(() => new JobworkerClient({ url: "http://127.0.0.1:1", ...creds }), (e: unknown) => e instanceof ClientError && e.code === "INVALID_SERVER_URL");
    const c = new JobworkerClient({ url: "127.0.0.1:8443/", ...creds });
    assert.equal(c.url, "https://127.0.0.1:8443");
    await c.destroy();
  });

  it("a server without a port is on jobworker's port, 8443; a port given, 443 included, is kept", async () => {
    const cases: [string, string][] = [
      ["127.0.0.1", "https://127.0.0.1:8443"],
      ["https://build.example.com", "https://build.example.com:8443"],
      ["https://build.example.com/", "https://build.example.com:8443"],
      ["[::1]", "https://[::1]:8443"],
      ["https://build.example.com:443", "https://build.example.com"],
      ["[::1]:9000", "https://[::1]:9000"],
    ];
    for (const [given, url] of cases) assert.equal(parseServerUrl(given).origin, url, given);
  });
});
