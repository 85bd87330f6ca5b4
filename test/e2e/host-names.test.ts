// A server certificate that does not name the address used: `serve` warns at start-up,
// and the client's refusal says how to fix it on the server (`certs server`, SIGHUP),
// never `certs init` (a new CA, which would invalidate every client).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { initPki, pkiPaths } from "../../src/pki/index.js";
import { cli, serve, type Serving } from "./fixtures.js";

describe("a server certificate for another host name", () => {
  let home: string;
  let server: Serving;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), "jobworker-host-names-"));
    const pki = pkiPaths(join(home, "pki"));
    await initPki({ dir: pki.dir, hosts: ["build.example.com"], clients: ["default"] });
    server = await serve(home, ["--listen", "127.0.0.1:0", "--ca", pki.caCert, "--cert", pki.serverCert, "--key", pki.serverKey]);
  });
  after(async () => {
    server?.child.kill("SIGTERM");
    await server?.exited;
    await rm(home, { recursive: true, force: true });
  });

  it("serve warns in one line, naming what the certificate lists and certs server --host", () => {
    const warnings = server.stderr().split("\n").filter((line) => line.includes("certificate lists"));
    assert.deepEqual(warnings, [
      "jobworker: warning: the server certificate lists build.example.com, not the address serve listens on, 127.0.0.1: clients connecting by another name refuse it; add the names clients use with `jobworker certs server --force --host NAME` and send serve SIGHUP",
    ]);
  });

  it("the client's refusal names certs server --force --host with the name used, and SIGHUP", async () => {
    const r = await cli(["list"], server.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^jobworker: the server's certificate at https:\/\/127\.0\.0\.1:\d+ is not trusted: .*`jobworker certs server --force --host 127\.0\.0\.1`.*SIGHUP[^\n]*\n$/);
    assert.doesNotMatch(r.stderr, /certs init/);
  });
});
