// `jobworker run` and `output` through the built binary: exit code propagation,
// byte-exact binary output, exec failures and Ctrl-C.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cli, createWorld, type TestWorld } from "./fixtures.js";
import { publicDir } from "../helpers/temp-dir.js";

describe("jobworker run (e2e)", () => {
  let world: TestWorld;
  let binFile: string;
  let shared: { path: string; remove: () => void };
  let bin: Buffer;
  before(async () => {
    world = await createWorld();
    // 1 MiB of random bytes: every byte value, invalid UTF-8 everywhere.
    bin = randomBytes(1024 * 1024);
    // Not in the server's home: jobs never see it (masked), nor in /tmp (each job's own).
    shared = publicDir();
    binFile = join(shared.path, "random.bin");
    await writeFile(binFile, bin);
  });
  after(async () => {
    await world?.close();
    shared?.remove();
  });

  it("exits 0 and streams stdout and stderr to their own places", async () => {
    const r = await cli(["run", "--", "sh", "-c", "echo out; echo err >&2"], world.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "out\n");
    assert.equal(r.stderr, "err\n");
  });

  it("exits with the job's exit code", async () => {
    const r = await cli(["run", "--", "sh", "-c", "exit 3"], world.env);
    assert.equal(r.code, 3);
    assert.equal(r.stderr, "");
  });

  it("exits 128+n when the job is killed by signal n", async () => {
    const r = await cli(["run", "--", "sh", "-c", "kill -KILL $$"], world.env);
    assert.equal(r.code, 137);
    const t = await cli(["run", "--", "sh", "-c", "kill -TERM $$"], world.env);
    assert.equal(t.code, 143);
  });

  it("exits 127 for a command not found, 126 for one not executable, with the reason", async () => {
    const nf = await cli(["run", "--", "no-such-command-xyz"], world.env);
    assert.equal(nf.code, 127);
    assert.equal(nf.stderr, "jobworker: command not found: no-such-command-xyz\n");
    const ne = await cli(["run", "--", binFile], world.env); // exists, mode 0644
    assert.equal(ne.code, 126);
    assert.match(ne.stderr, /^jobworker: permission denied: .*random\.bin\n$/);
  });

  it("an executable file that is no program: NOT_EXECUTABLE and 126, by path and by PATH, never run by /bin/sh", async () => {
    const dir = join(shared.path, "not-a-program");
    await mkdir(dir, { recursive: true });
    // No #! line: execvp would hand it to /bin/sh, which would run it and end 127.
    await writeFile(join(dir, "script"), "echo ran-by-a-shell\nno-such-command-xyz\n", { mode: 0o755 });
    for (const args of [["--", join(dir, "script")], ["-e", `PATH=/nonexistent-dir:${dir}`, "--", "script"]]) {
      const r = await cli(["run", ...args], world.env);
      assert.equal(r.code, 126, r.stderr);
      assert.equal(r.stdout.length, 0, r.stdout.toString());
      assert.match(r.stderr, /^jobworker: cannot execute script|cannot execute .*script: not a program the kernel can run/);
      const [job] = JSON.parse((await cli(["list", "--json", "--limit", "1"], world.env)).stdout.toString()).jobs;
      assert.equal(job.error_code, "NOT_EXECUTABLE");
    }
    // The PATH search goes on past an entry that refuses (EACCES), as execvp's does.
    const denied = join(dir, "denied");
    const good = join(dir, "good");
    await Promise.all([mkdir(denied, { recursive: true }), mkdir(good, { recursive: true })]);
    await writeFile(join(denied, "tool"), "#!/bin/sh\necho wrong\n", { mode: 0o644 });
    await writeFile(join(good, "tool"), "#!/bin/sh\necho right\n", { mode: 0o755 });
    const found = await cli(["run", "-e", `PATH=${denied}:${good}`, "--", "tool"], world.env);
    assert.equal(found.code, 0, found.stderr);
    assert.equal(found.stdout.toString(), "right\n");
  });

  it("copies binary output byte for byte, through run and through output", async () => {
    const r = await cli(["run", "--", "sh", "-c", `cat '${binFile}'; cat '${binFile}' >&2`], world.env);
    assert.equal(r.code, 0);
    assert.ok(r.stdout.equals(bin), "run stdout differs");
    assert.ok(Buffer.from(r.stderr, "latin1").length > 0);

    const started = await cli(["start", "--", "cat", binFile], world.env);
    const id = started.stdout.toString().trim();
    const out = await cli(["output", "--follow", id], world.env);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.stdout.equals(bin), "output -f differs");
    const again = await cli(["output", id], world.env);
    assert.ok(again.stdout.equals(bin), "output differs");
  });

  it("--json prints the final record with the output", async () => {
    const r = await cli(["run", "--json", "--", "sh", "-c", "echo hi; exit 4"], world.env);
    assert.equal(r.code, 4);
    const json = JSON.parse(r.stdout.toString());
    assert.equal(json.status, "completed");
    assert.equal(json.exit_code, 4);
    assert.equal(json.stdout, "hi\n");
    assert.equal(json.cmd, "sh");
  });

  it("Ctrl-C stops the remote job and exits 130", async () => {
    let sent = false;
    const r = await cli(["run", "--", "sh", "-c", "echo ready; exec sleep 60"], world.env, (child, stdout) => {
      child.stdout!.on("data", () => {
        if (!sent && stdout().toString().includes("ready")) {
          sent = true;
          child.kill("SIGINT");
        }
      });
    });
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.stdout.toString(), "ready\n");
    const jobs = JSON.parse((await cli(["list", "--json"], world.env)).stdout.toString()).jobs;
    const job = jobs.find((j: { args: string[] }) => j.args[1] === "echo ready; exec sleep 60");
    assert.equal(job.status, "completed");
    assert.equal(job.signal, "SIGTERM");
  });

  it("a closed stdout (… | head) stops the remote job and exits 141", async () => {
    const r = await cli(["run", "--", "sh", "-c", "echo marker-epipe; exec yes"], world.env, (child) => {
      child.stdout!.once("data", () => child.stdout!.destroy());
    });
    assert.equal(r.code, 141, r.stderr);
    assert.equal(r.stderr, "");
    const jobs = JSON.parse((await cli(["list", "--json"], world.env)).stdout.toString()).jobs;
    const job = jobs.find((j: { args: string[] }) => j.args[1] === "echo marker-epipe; exec yes");
    assert.equal(job.status, "completed");
    assert.equal(job.signal, "SIGTERM");
  });
});
