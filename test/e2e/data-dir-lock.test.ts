// Two `jobworker serve` on one data directory: the second must leave the first alone
// (its jobs, its cgroups, its database) and say who owns the directory; a crashed owner
// must not block a restart.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { INTERRUPTED_MESSAGE } from "../../src/index.js";
import { CLI, cli, serve, type Serving } from "./fixtures.js";

/** Runs a second `serve` on `home` to its end: exit code and stderr. */
function secondServe(home: string, listen: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, "serve", "--home", home, "--listen", listen], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { PATH: process.env.PATH, HOME: home },
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stderr }));
  });
}

async function statusOf(id: string, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const result = await cli(["status", "--json", id], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.toString()) as Record<string, unknown>;
}

describe("one server per data directory", () => {
  let home: string;
  let first: Serving;
  let longJob: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), "jobworker-lock-"));
    first = await serve(home);
    const started = await cli(["start", "--", "sleep", "100000"], first.env);
    assert.equal(started.code, 0, started.stderr);
    longJob = started.stdout.toString().trim();
  });
  after(async () => {
    first.child.kill("SIGKILL");
    await rm(home, { recursive: true, force: true });
  });

  for (const [what, listen] of [
    ["on the same port", () => new URL(first.env.JOBWORKER_SERVER!).host],
    ["on another port", () => "127.0.0.1:0"],
  ] as const) {
    it(`a second serve ${what} exits at once naming the owner, and changes nothing`, async () => {
      const second = await secondServe(home, listen());
      assert.equal(second.code, 1, second.stderr);
      const lines = second.stderr.trim().split("\n");
      // One line naming the owner and the directory (a hint line may follow it).
      assert.match(lines[0]!, new RegExp(`pid ${first.child.pid}\\b.*${join(home, "data")}`));
      assert.doesNotMatch(second.stderr, /listening/);

      assert.equal((await statusOf(longJob, first.env)).status, "running");
      const run = await cli(["run", "--", "echo", "still serving"], first.env);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.toString(), "still serving\n");
    });
  }

  it("after kill -9 of the owner, a new serve takes the directory and recovers", async () => {
    first.child.kill("SIGKILL");
    await first.exited;
    const next = await serve(home);
    try {
      const status = await statusOf(longJob, next.env);
      assert.equal(status.status, "error");
      assert.equal(status.error_msg, INTERRUPTED_MESSAGE);
      const run = await cli(["run", "--", "true"], next.env);
      assert.equal(run.code, 0, run.stderr);
    } finally {
      next.child.kill("SIGTERM");
      await next.exited;
    }
  });
});
