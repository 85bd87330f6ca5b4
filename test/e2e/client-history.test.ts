// `list` across pages and the truncated flag, through the built binary.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { asClient, cli, createWorld, type TestWorld, statusSummary } from "./fixtures.js";

describe("jobworker list pages and truncated output", () => {
  let world: TestWorld;
  const ids: string[] = [];
  before(async () => {
    world = await createWorld({ maxOutputBytes: 100 });
    for (let i = 0; i < 3; i++) ids.push(world.server.pool.create({ cmd: "true", owner: "alice" }));
    await Promise.all(ids.map((id) => world.server.pool.wait(id)));
  });
  after(async () => world?.close());

  it("shows one page, says how to get the next, and --all shows every job", async () => {
    const env = asClient(world, "alice");
    const first = await cli(["list", "--limit", "2"], env);
    assert.equal(first.code, 0, first.stderr);
    const rows = first.stdout.toString().trimEnd().split("\n").slice(1);
    assert.deepEqual(rows.map((row) => row.split(" ")[0]), [ids[2], ids[1]]);
    const cursor = /--cursor (\d+)/.exec(first.stderr)?.[1];
    assert.ok(cursor, first.stderr);
    // The hint keeps the flags given: the next page has the same size.
    assert.equal(first.stderr, `more jobs: jobworker list --limit 2 --cursor ${cursor} (or --all)\n`);
    // Other flags too; a --cursor given is replaced by the next one.
    const one = await cli(["list", "--limit", "1", "--server", world.server.url], env);
    const c1 = /--cursor (\d+)/.exec(one.stderr)?.[1];
    assert.equal(one.stderr, `more jobs: jobworker list --limit 1 --server ${world.server.url} --cursor ${c1} (or --all)\n`);
    const two = await cli(["list", "--limit", "1", `--cursor=${c1}`, "--server", world.server.url], env);
    const c2 = /--cursor (\d+)/.exec(two.stderr)?.[1];
    assert.notEqual(c2, c1);
    assert.equal(two.stderr, `more jobs: jobworker list --limit 1 --server ${world.server.url} --cursor ${c2} (or --all)\n`);

    const second = JSON.parse((await cli(["list", "--limit", "2", "--cursor", cursor, "--json"], env)).stdout.toString());
    assert.deepEqual(second, { jobs: [JSON.parse((await cli(["list", "--all", "--json"], env)).stdout.toString()).jobs[2]] });
    assert.equal(second.jobs[0].id, ids[0]);

    const all = JSON.parse((await cli(["list", "--all", "--json"], env)).stdout.toString());
    assert.deepEqual(all.jobs.map((job: { id: string }) => job.id), [...ids].reverse());
  });

  it("refuses a bad page size as a usage error", async () => {
    const bad = await cli(["list", "--limit", "0"], asClient(world, "alice"));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /1 to 1000/);
  });

  it("status and list say when output was cut at the server's cap", async () => {
    const env = asClient(world, "alice");
    const run = await cli(["run", "--", "sh", "-c", "while :; do echo xxxxxxxxxxxxxxxxxxxxxxx; done"], env);
    assert.equal(run.stdout.length, 100, "run delivers exactly the cap");
    const id = JSON.parse((await cli(["list", "--limit", "1", "--json"], env)).stdout.toString()).jobs[0].id;
    const status = await cli(["status", id], env);
    assert.match(statusSummary(status), /^error: output limit reached.*; output truncated\n$/);
    assert.match((await cli(["list", "--limit", "1"], env)).stdout.toString(), /error \(truncated\)/);
  });
});
