// What an operator does: restart `jobworker serve` (SIGTERM), or lose it to kill -9, and
// start it again. Clients keep their jobs, ids and output; no process of an old job runs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { INTERRUPTED_MESSAGE } from "../../src/index.js";
import { until } from "../../src/engine/back-off.js";
import { SCHEMA_VERSION } from "../../src/engine/store/migrations.js";
import { isAlive } from "../helpers/processes.js";
import { CLI, cli, serve, statusSummary } from "./fixtures.js";

/** Follows a job's stdout through the CLI until `lines` lines arrived, then lets go. */
function firstLines(id: string, env: NodeJS.ProcessEnv, lines: number): Promise<string[]> {
  return new Promise((done) => {
    void cli(["output", "-f", id], env, (child, stdout) => {
      child.stdout!.on("data", () => {
        const text = stdout().toString();
        if (text.split("\n").length > lines) {
          child.kill();
          done(text.trim().split("\n"));
        }
      });
    });
  });
}

async function startJob(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const started = await cli(["start", "--", ...args], env);
  assert.equal(started.code, 0, started.stderr);
  return started.stdout.toString().trim();
}

describe("restarting the worker", () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), "jobworker-restart-"));
  });
  after(async () => rm(home, { recursive: true, force: true }));

  it("after SIGTERM and a new start, every job, id and byte of output is there", async () => {
    const first = await serve(home);
    const done = await startJob(["sh", "-c", "echo done; echo warn >&2"], first.env);
    assert.equal((await cli(["output", "-f", done], first.env)).code, 0);
    const running = await startJob(["sh", "-c", "echo before; exec sleep 1000"], first.env);
    await firstLines(running, first.env, 1);
    first.child.kill("SIGTERM");
    assert.equal(await first.exited, 0);

    const second = await serve(home);
    try {
      const finished = await cli(["output", done], second.env);
      assert.equal(finished.stdout.toString(), "done\n");
      assert.equal(finished.stderr, "warn\n");
      assert.equal(statusSummary(await cli(["status", done], second.env)), "completed (exit 0)\n");
      assert.equal(statusSummary(await cli(["status", running], second.env)), "error: stopped: the worker shut down while the job was running\n");
      assert.equal((await cli(["output", running], second.env)).stdout.toString(), "before\n");
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });

  it("after kill -9, the job's processes die with the server's launcher; the next start keeps its output", async () => {
    const first = await serve(home);
    const id = await startJob(["sh", "-c", "echo partial; sleep 1000 & echo $!; echo $$; wait"], first.env);
    const [, grandchild, main] = (await firstLines(id, first.env, 3)).map(Number);
    first.child.kill("SIGKILL");
    await first.exited;
    // No event tells us when a stranger's process is gone: poll, bounded.
    assert.ok(await until(() => !isAlive(main!) && !isAlive(grandchild!), 10_000), "the launcher killed the job when the server died");

    const second = await serve(home);
    try {
      const status = JSON.parse((await cli(["status", "--json", id], second.env)).stdout.toString());
      assert.deepEqual(status, { status: "error", error_msg: INTERRUPTED_MESSAGE, error_code: "INTERRUPTED" });
      assert.equal((await cli(["output", id], second.env)).stdout.toString(), `partial\n${grandchild}\n${main}\n`);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });

  it("refuses, in one line, a data directory a newer jobworker wrote, and leaves it as it was", async () => {
    const first = await serve(home);
    const id = await startJob(["true"], first.env);
    assert.equal((await cli(["wait", id], first.env)).code, 0);
    first.child.kill("SIGTERM");
    assert.equal(await first.exited, 0);
    const setVersion = (version: number) => {
      const db = new Database(join(home, "data", "jobs.db"));
      db.pragma(`user_version = ${version}`);
      db.close();
    };
    setVersion(SCHEMA_VERSION + 1);

    const refused = await new Promise<{ code: number | null; stderr: string }>((done, fail) => {
      const child = spawn(process.execPath, [CLI, "serve", "--home", home, "--no-isolation", "--listen", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH, HOME: home } });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("error", fail);
      child.on("close", (code) => done({ code, stderr }));
    });
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(
      refused.stderr,
      `jobworker: the job store ${join(home, "data", "jobs.db")} has schema version ${SCHEMA_VERSION + 1}, newer than this jobworker knows (${SCHEMA_VERSION}): a newer jobworker wrote it (run the jobworker that wrote it, or a newer one; or give this one its own --data-dir)\n`,
    );

    // Untouched: with the version this code knows, the records are all there.
    setVersion(SCHEMA_VERSION);
    const second = await serve(home);
    try {
      assert.equal(statusSummary(await cli(["status", id], second.env)), "completed (exit 0)\n");
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });
});
