// Resource limits through the built CLI: `start`/`run` flags, "out of memory" in run,
// status and list. Needs cgroups (root on this project's machines).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cli, createWorld, type TestWorld, statusSummary } from "./fixtures.js";

describe("jobworker limits (e2e)", { skip: process.getuid?.() !== 0 && "needs root (cgroups)" }, () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => {
    await world?.close();
  });

  it("run --memory: a job past its limit exits 137 and says out of memory; status and list say so too", async () => {
    const hog = "const kept = []; for (;;) kept.push(Buffer.alloc(1 << 20, 1));";
    const r = await cli(["run", "--memory", "96M", "--", process.execPath, "-e", hog], world.env);
    assert.equal(r.code, 137);
    assert.match(r.stderr, /^jobworker: out of memory: the job exceeded its memory limit and was killed\n$/m);
    const list = await cli(["list"], world.env);
    assert.match(list.stdout.toString(), /completed\s+137 out of memory/);
    const id = list.stdout.toString().split("\n")[1]!.split(/\s+/)[0]!;
    const status = await cli(["status", id], world.env);
    assert.equal(statusSummary(status), "completed (out of memory: killed by SIGKILL, exit 137)\n");
  });

  it("start takes --cpus --pids --io-read --io-write and the record shows the limits", async () => {
    const started = await cli(["start", "--cpus", "0.5", "--pids", "64", "--io-read", "10M", "--io-write", "1G", "--", "true"], world.env);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.toString().trim();
    const list = await cli(["list", "--json"], world.env);
    const job = JSON.parse(list.stdout.toString()).jobs.find((j: { id: string }) => j.id === id);
    const { memory_bytes: memory, ...asked } = job.limits;
    assert.deepEqual(asked, { cpus: 0.5, pids: 64, io_read_bps: 10 * 1024 * 1024, io_write_bps: 1024 ** 3 });
    // What it did not ask for, it gets from the server's defaults sized to the host (as root).
    if (process.getuid?.() === 0) assert.equal(typeof memory, "number");
  });

  it("refuses below the server's own minimum as a usage error, at the very bound the server uses", async () => {
    for (const [flag, low, ok, message] of [
      ["--memory", "4194303", "4M", /argument '4194303' is invalid: expected at least 4M \(4194304 bytes\)/],
      ["--pids", "1", "2", /argument '1' is invalid: expected at least 2 processes/],
      ["--cpus", "0.009", "0.01", /argument '0\.009' is invalid: expected at least 0\.01 CPUs/],
    ] as const) {
      const refused = await cli(["start", flag, low, "--", "true"], world.env);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, message);
      const accepted = await cli(["start", flag, ok, "--", "true"], world.env);
      assert.equal(accepted.code, 0, accepted.stderr);
    }
    // The server's own check, reached without the CLI, refuses the same value.
    const { JobworkerClient, loadCredentials } = await import("../../src/client/index.js");
    const client = new JobworkerClient({
      url: world.server.url,
      ...(await loadCredentials({ caFile: world.pki.caCert, certFile: world.pki.clientCert("default"), keyFile: world.pki.clientKey("default") })),
    });
    try {
      await assert.rejects(client.create({ cmd: "true", limits: { memory_bytes: 4194303 } }), { code: "BAD_REQUEST" });
      await assert.rejects(client.create({ cmd: "true", limits: { pids: 1 } }), { code: "BAD_REQUEST" });
    } finally {
      await client.close();
    }
  });

  it("refuses a malformed limit as a usage error", async () => {
    const r = await cli(["start", "--memory", "lots", "--", "true"], world.env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /expected a size in bytes/);
  });
});
