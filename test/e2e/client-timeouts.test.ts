// Timeouts and waiting through the built CLI (issue 13): `run --timeout` exits 124 as
// timeout(1) does, `wait` blocks on long polls and sums up the jobs' outcomes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cli, createWorld, type TestWorld, statusSummary } from "./fixtures.js";

describe("timeouts and wait (e2e)", () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => {
    await world?.close();
  });

  async function start(args: string[]): Promise<string> {
    const started = await cli(["start", ...args], world.env);
    assert.equal(started.code, 0, started.stderr);
    return started.stdout.toString().trim();
  }

  it("run --timeout stops the job as stop does and exits 124; the trap's output is kept", async () => {
    const run = await cli(["run", "--timeout", "1s", "--", "sh", "-c", 'trap "echo bye; exit 7" TERM; echo started; sleep 100 & wait'], world.env);
    assert.equal(run.code, 124, run.stderr);
    assert.equal(run.stdout.toString(), "started\nbye\n");
    // One line says why, as for a job killed for its memory.
    assert.equal(run.stderr, "jobworker: timed out: the job reached its --timeout of 1s and was stopped\n");
    // list says "timed out", as status does.
    const listed = await cli(["list"], world.env);
    assert.match(listed.stdout.toString(), /\n\S+\s+timed out\s+7\s+\S+\s+sh -c /);
  });

  it("wait: 124 and 'timed out' for a job that timed out", async () => {
    const id = await start(["--timeout", "1s", "--", "sleep", "100"]);
    const waited = await cli(["wait", id], world.env);
    assert.equal(waited.code, 124, waited.stderr);
    assert.equal(waited.stdout.toString(), `${id}: timed out (killed by SIGTERM, exit 143)\n`);
    const json = JSON.parse((await cli(["status", "--json", id], world.env)).stdout.toString());
    assert.equal(json.timed_out, true);
  });

  it("wait: 0 when every job exited 0, 1 when one did not, in the order given", async () => {
    const ok = await Promise.all([start(["--", "sh", "-c", "sleep 0.5"]), start(["--", "true"])]);
    const allOk = await cli(["wait", ...ok], world.env);
    assert.equal(allOk.code, 0, allOk.stderr);
    assert.equal(allOk.stdout.toString(), `${ok[0]}: completed (exit 0)\n${ok[1]}: completed (exit 0)\n`);
    const failing = await start(["--", "sh", "-c", "exit 3"]);
    const mixed = await cli(["wait", ok[0]!, failing], world.env);
    assert.equal(mixed.code, 1);
    assert.match(mixed.stdout.toString(), new RegExp(`${failing}: completed \\(exit 3\\)\\n$`));
  });

  it("wait --timeout gives up on a job still running: 124, and the job runs on", async () => {
    const id = await start(["--", "sleep", "100"]);
    const waited = await cli(["wait", "--timeout", "1s", id], world.env);
    assert.equal(waited.code, 124);
    assert.equal(waited.stdout.toString(), `${id}: running\n`);
    assert.equal(statusSummary(await cli(["status", id], world.env)), "running\n");
    await cli(["stop", id], world.env);
  });

  it("wait on an unknown id fails with one line", async () => {
    const waited = await cli(["wait", "00000000-0000-4000-8000-000000000000"], world.env);
    assert.equal(waited.code, 1);
    assert.equal(waited.stderr.trim().split("\n").length, 1);
  });
});
