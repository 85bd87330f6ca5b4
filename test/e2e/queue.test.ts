// The queue as an operator and a user meet it, with real `jobworker serve` processes and
// the CLI: `run` says where its job waits and `--stats` what it used; `status`, `list
// --status queued` and `kill` of a queued job; and a queue that survives kill -9 of the
// server: the queued jobs start after the restart, once each, in order.
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cli, serve, statusSummary, USAGE_LINE } from "./fixtures.js";

async function startJob(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const started = await cli(["start", ...args], env);
  assert.equal(started.code, 0, started.stderr);
  return started.stdout.toString().trim();
}

describe("the queue (e2e)", () => {
  let home: string;
  /** Where jobs write: anyone may, since on a root server each identity's jobs have a uid of their own. */
  let shared: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), "jobworker-queue-"));
    shared = await mkdtemp(join(tmpdir(), "jobworker-queue-shared-"));
    // Not sticky: the kernel's protected_regular refuses O_CREAT of another uid's file there.
    await chmod(shared, 0o777);
  });
  after(async () => Promise.all([home, shared].map((path) => rm(path, { recursive: true, force: true }))));

  it("run waits its turn, says so, and --stats prints what the job used; status, list and kill know queued jobs", async () => {
    const server = await serve(home, ["--listen", "127.0.0.1:0", "--max-running-per-client", "1", "--max-queued-per-client", "2"]);
    try {
      assert.match(server.stderr(), /^jobworker: queue: each client runs at most 1 jobs at once; up to 2 more per client wait, queued, then 429$/m);
      const blocker = await startJob(["--", "sleep", "1000"], server.env);
      const queued = await startJob(["--", "true"], server.env);
      assert.equal(statusSummary(await cli(["status", queued], server.env)), "queued (position 1)\n");
      const listed = await cli(["list", "--status", "queued"], server.env);
      assert.match(listed.stdout.toString(), new RegExp(`^${queued}\\s+queued\\s`, "m"));
      const kill = await cli(["kill", queued], server.env);
      assert.equal(kill.code, 1);
      assert.match(kill.stderr, /queued: it has not started/);

      // run: its job waits behind the blocker and the queued one, then runs once they are gone.
      const running = cli(["run", "--stats", "--", "sh", "-c", "echo ran"], server.env, (child) => {
        child.stderr!.once("data", () => {
          // It said it waits: free its slot.
          void cli(["stop", blocker], server.env).then(() => cli(["delete", queued], server.env));
        });
      });
      const ran = await running;
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout.toString(), "ran\n");
      const lines = ran.stderr.trim().split("\n");
      assert.equal(lines[0], "jobworker: queued (position 2)");
      assert.match(lines[1]!.replace(/^jobworker: /, ""), USAGE_LINE);
      assert.equal(lines.length, 2, ran.stderr);
      const status = await cli(["status", blocker], server.env);
      assert.equal(statusSummary(status), "completed (killed by SIGTERM, exit 143)\n");
      assert.match(status.stdout.toString().split("\n")[1]!, USAGE_LINE);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });

  it("survives kill -9 of the server: the queued jobs start after the restart, each once, in order", async () => {
    const log = join(shared, "order.log");
    await writeFile(log, "");
    await chmod(log, 0o666);
    const first = await serve(home, ["--listen", "127.0.0.1:0", "--max-running-per-client", "1"]);
    const blocker = await startJob(["--", "sleep", "1000"], first.env);
    const queued = [];
    for (const name of ["one", "two", "three"]) queued.push(await startJob(["--", "sh", "-c", `echo ${name} >> ${log}`], first.env));
    first.child.kill("SIGKILL");
    await first.exited;

    const second = await serve(home, ["--listen", "127.0.0.1:0", "--max-running-per-client", "1"]);
    try {
      const waited = await cli(["wait", ...queued], second.env);
      assert.equal(waited.code, 0, waited.stderr);
      assert.equal(await readFile(log, "utf8"), "one\ntwo\nthree\n");
      assert.equal(statusSummary(await cli(["status", blocker], second.env)), "error: interrupted: the worker stopped while the job was running; its remaining processes were killed at restart\n");
      for (const id of queued) {
        const record = JSON.parse((await cli(["status", "--json", id], second.env)).stdout.toString());
        assert.deepEqual(record, { status: "completed", exit_code: 0 });
      }
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });
});
