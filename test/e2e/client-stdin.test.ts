// `run -i` and `start -i` through the built binary (issue 13): stdin forwarded live and
// byte-exact, EOF passed on, and Ctrl-C while forwarding still stops the job.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { CLI, cli, createWorld, type TestWorld } from "./fixtures.js";

/** Runs the CLI with `input` (or a pipe the test keeps open, when undefined) as its stdin. */
function cliWithStdin(args: string[], env: NodeJS.ProcessEnv, input: Buffer | undefined, onStdout?: (soFar: Buffer, child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; stdout: Buffer; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out.push(c);
      onStdout?.(Buffer.concat(out), child);
    });
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout: Buffer.concat(out), stderr: err }));
    if (input) child.stdin.end(input);
  });
}

describe("stdin through the CLI (e2e)", () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => {
    await world?.close();
  });

  it("echo hello | run -i -- cat prints hello", async () => {
    const result = await cliWithStdin(["run", "-i", "--", "cat"], world.env, Buffer.from("hello\n"));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), "hello\n");
  });

  it("run --stdin passes 5 MB of random bytes exactly", async () => {
    const bytes = randomBytes(5 * 1024 * 1024);
    const result = await cliWithStdin(["run", "--stdin", "--", "sha256sum"], world.env, bytes);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString().split(" ")[0], createHash("sha256").update(bytes).digest("hex"));
  });

  it("start -i uploads, then prints the id; the job read it all", async () => {
    const started = await cliWithStdin(["start", "-i", "--", "wc", "-c"], world.env, Buffer.alloc(123_456, 7));
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.toString().trim();
    assert.equal((await cli(["wait", id], world.env)).code, 0);
    assert.equal((await cli(["output", id], world.env)).stdout.toString().trim(), "123456");
  });

  it("Ctrl-C while forwarding stops the job", async () => {
    // The job echoes what it reads; stdin stays open (the test never ends it).
    const result = await cliWithStdin(["run", "-i", "--", "sh", "-c", "echo ready; cat"], world.env, undefined, (soFar, child) => {
      if (soFar.toString() === "ready\n") child.kill("SIGINT");
    });
    assert.equal(result.code, 130, result.stderr);
    const jobs = JSON.parse((await cli(["list", "--json"], world.env)).stdout.toString()) as { jobs: { cmd: string; args: string[]; status: string }[] };
    const job = jobs.jobs.find((j) => j.args.join(" ") === "-c echo ready; cat");
    assert.ok(job);
    assert.notEqual(job.status, "running");
  });
});
