// A client revoked while it follows a job: the server closes its connections on the CRL's
// reload, and the CLI says the certificate was revoked (not that the server may have
// stopped), and `run` names its job, which runs on.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { revokeClientCert } from "../../src/pki/index.js";
import { asClient, cli, createWorld, type CliResult, type TestWorld } from "./fixtures.js";

describe("revoked while following (e2e)", () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => world?.close());

  it("run and output -f end with one line saying the certificate is most likely revoked", async () => {
    const bob = asClient(world, "bob");
    const started = (await cli(["start", "--", "sh", "-c", "echo begun; exec sleep 1000"], bob)).stdout.toString().trim();
    const following: Promise<CliResult>[] = [];
    const ready: Promise<void>[] = [];
    for (const args of [["run", "--", "sh", "-c", "echo begun; exec sleep 1000"], ["output", "-f", started]]) {
      let markReady!: () => void;
      ready.push(new Promise((resolve) => (markReady = resolve)));
      following.push(cli(args, bob, (child) => child.stdout!.once("data", () => markReady())));
    }
    await Promise.all(ready);
    await revokeClientCert({ dir: world.pki.dir, name: "bob" });
    await world.server.reloadTls();
    const [run, output] = await Promise.all(following);
    for (const result of [run!, output!]) {
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout.toString(), "begun\n");
      assert.match(result.stderr, /^jobworker: the connection to https:\/\/127\.0\.0\.1:\d+ was lost, and the server now refuses the client certificate \S+bob\.pem: .*most likely been revoked[^\n]*\n$/);
      assert.doesNotMatch(result.stderr, /may have stopped/);
    }
    // run names its job, which the server did not stop.
    const id = /job (\S+) may still be running: `jobworker status \1`\)\n$/.exec(run!.stderr)?.[1];
    assert.ok(id, run!.stderr);
    // bob can no longer ask; the server says so (the jobs end with the world's server).
    assert.equal(world.server.pool.status(id).state, "running");
  });
});
