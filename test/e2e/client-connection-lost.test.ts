// The server goes away while `run` and `output -f` follow a job: one line, exit 1, no hang.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cli, createWorld, type CliResult, type TestWorld } from "./fixtures.js";

describe("connection lost (e2e)", () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => world?.close());

  it("run and output -f report the lost connection in one line and exit 1", async () => {
    const started = (await cli(["start", "--", "sh", "-c", "echo begun; exec sleep 1000"], world.env)).stdout.toString().trim();
    // Each follower signals once its first bytes are in, so the server stops mid-stream.
    const following: Promise<CliResult>[] = [];
    const ready: Promise<void>[] = [];
    for (const args of [["run", "--", "sh", "-c", "echo begun; exec sleep 1000"], ["output", "-f", started]]) {
      let markReady!: () => void;
      ready.push(new Promise((resolve) => (markReady = resolve)));
      following.push(
        cli(args, world.env, (child) => {
          child.stdout!.once("data", () => markReady());
        }),
      );
    }
    await Promise.all(ready);
    await world.server.close();
    const [run, output] = await Promise.all(following);
    // run names the job it started, so that it can be found again; output -f was given it.
    assert.match(run!.stderr, /; job [0-9a-f-]{36} may still be running: `jobworker status [0-9a-f-]{36}`\)\n$/);
    assert.doesNotMatch(output!.stderr, /may still be running/);
    for (const result of [run!, output!]) {
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout.toString(), "begun\n");
      // Cut mid-stream, or (when the job's end came first) its next request answered
      // while the server closes: either way one line saying the server went away.
      assert.match(
        result.stderr,
        /^jobworker: (the connection to https:\/\/127\.0\.0\.1:\d+ was lost \(the server may have stopped; check it and retry|the server at https:\/\/127\.0\.0\.1:\d+ is not taking requests: the server is shutting down \(try again once it is back)(; job \S+ may still be running: `jobworker status \S+`)?\)\n$/,
      );
    }
  });
});
