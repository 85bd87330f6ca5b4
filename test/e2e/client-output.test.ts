// Reading output as people do, through the built CLI: the last lines, what is new since a
// time, capture times, both streams in capture order; `--json` in bounded memory.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { assertCapturedWhenWritten, followStamped, stampedScript } from "../helpers/stamped-lines.js";
import { publicDir } from "../helpers/temp-dir.js";
import { cli, cliMeasured, createWorld, type TestWorld } from "./fixtures.js";

let world: TestWorld;
const gates = publicDir();
before(async () => {
  world = await createWorld();
});
after(async () => {
  await world?.close();
  gates.remove();
});

async function startJob(script: string): Promise<string> {
  const started = await cli(["start", "--", "sh", "-c", script], world.env);
  assert.equal(started.code, 0, started.stderr);
  return started.stdout.toString().trim();
}

/** The lines of `output -f -t` on stdout, each split into its stamp and its text. */
async function* stampedStdout(stdout: Readable): AsyncGenerator<{ stream: "stdout"; capturedAt: number; text: string }> {
  for await (const line of createInterface({ input: stdout })) {
    const space = line.indexOf(" ");
    yield { stream: "stdout", capturedAt: Date.parse(line.slice(0, space)), text: line.slice(space + 1) };
  }
}

async function ended(script: string): Promise<string> {
  const id = await startJob(script);
  assert.equal((await cli(["wait", id], world.env)).code, 0);
  return id;
}

describe("jobworker output --tail --since -t", () => {
  it("prints the last lines of both streams, in capture order, each to its own descriptor", async () => {
    const id = await ended("echo o1; echo o2; sleep 0.1; echo e1 >&2; sleep 0.1; echo o3; sleep 0.1; echo e2 >&2");
    const last3 = await cli(["output", "--tail", "3", id], world.env);
    assert.equal(last3.code, 0, last3.stderr);
    assert.equal(last3.stdout.toString(), "o3\n");
    assert.equal(last3.stderr, "e1\ne2\n");
    const none = await cli(["output", "--tail", "0", id], world.env);
    assert.equal(none.stdout.length + none.stderr.length, 0);
    const all = await cli(["output", "--since", "10m", id], world.env);
    assert.equal(all.stdout.toString(), "o1\no2\no3\n");
    assert.equal(all.stderr, "e1\ne2\n");
    const plain = await cli(["output", id], world.env);
    assert.equal(plain.stdout.toString(), "o1\no2\no3\n", "without the new flags, the bytes as before");
  });

  it("stamps each line with when it was written, live and after the end", async () => {
    const gateDir = mkdtempSync(join(gates.path, "stamps-"));
    chmodSync(gateDir, 0o755);
    const id = await startJob(stampedScript(["first", "second"], gateDir));
    let follower!: ChildProcess;
    const following = cli(["output", "-f", "-t", id], world.env, (child) => (follower = child));
    const lines = await followStamped(stampedStdout(follower.stdout!), gateDir, 2);
    follower.stdout!.resume(); // closing the line reader paused it: let the CLI's end through
    const live = await following;
    assert.equal(live.code, 0, live.stderr);
    assert.deepEqual(lines.map((l) => l.word), ["first", "second"]);
    assertCapturedWhenWritten(lines);
    const stamped = await cli(["output", "-t", id], world.env);
    assert.equal(stamped.code, 0, stamped.stderr);
    assert.equal(stamped.stdout.toString(), live.stdout.toString(), "the same times once it ended");
    assert.match(stamped.stdout.toString(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z first \d+\n/);
    // --since the second line's time gives the second alone (it was written after the
    // first arrived here).
    const since = new Date(lines[1]!.capturedAt).toISOString();
    assert.equal((await cli(["output", "--since", since, id], world.env)).stdout.toString(), `second ${lines[1]!.writtenAt}\n`);
  });

  it("follows from the last lines, or from nothing with --tail 0", async () => {
    const gate = `${gates.path}/gate-${Date.now()}`;
    const id = await startJob(`i=0; while [ ! -e ${gate} ]; do i=$((i+1)); echo $i; sleep 0.05; done; echo end`);
    const lastLine = async () => Number((await cli(["output", "--tail", "1", id], world.env)).stdout.toString().trim());
    for (let i = 0; i < 200 && !((await lastLine()) >= 3); i++) await new Promise((r) => setTimeout(r, 25));
    // Both followers attached (each has printed a line) before the gate opens.
    const outputs = ["", ""];
    const followers = [["--tail", "1"], ["--tail", "0", "-t"]].map((flags, n) =>
      cli(["output", "-f", ...flags, id], world.env, (child) => child.stdout!.on("data", (c: Buffer) => (outputs[n] += c))),
    );
    for (let i = 0; i < 400 && !outputs.every((o) => o.includes("\n")); i++) await new Promise((r) => setTimeout(r, 25));
    writeFileSync(gate, "");
    const [tail1, fresh] = (await Promise.all(followers)).map((r) => r.stdout.toString().trimEnd().split("\n"));
    const numbers = (lines: string[]) => lines.slice(0, -1).map(Number);
    for (const [label, lines] of [["--tail 1", tail1!], ["--tail 0 -t", fresh!.map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, ""))]] as const) {
      assert.equal(lines.at(-1), "end", label);
      const got = numbers(lines);
      assert.ok(got[0]! >= 3, `${label}: starts at the end (line ${got[0]}), not at the first line`);
      got.forEach((n, i) => assert.equal(n, got[0]! + i, `${label}: then every line, live`));
    }
    assert.ok(fresh!.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+$/.test(l)), "-t stamps every line");
  });

  it("refuses a bad --tail or --since as a usage error", async () => {
    const bad = await cli(["output", "--since", "yesterday", "00000000-0000-0000-0000-000000000000"], world.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since/);
    const tail = await cli(["output", "--tail", "-1", "00000000-0000-0000-0000-000000000000"], world.env);
    assert.equal(tail.code, 2);
    assert.match(tail.stderr, /--tail/);
  });
});

describe("--json in bounded memory", () => {
  const SIZE = 300 * 1024 * 1024;
  const LIMIT = 200 * 1024 * 1024;
  const line = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n";

  for (const [label, args] of [
    ["output --json", (id: string) => ["output", "--json", id]],
    ["run --json", () => ["run", "--json", "--", "sh", "-c", `yes '${line.trimEnd()}' | head -c ${SIZE}`]],
  ] as const) {
    it(`${label} of 300 MB stays under 200 MB of RSS`, { timeout: 180_000 }, async () => {
      const id = label === "output --json" ? await ended(`yes '${line.trimEnd()}' | head -c ${SIZE}`) : "";
      const r = await cliMeasured(args(id), world.env);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.head.startsWith(label === "output --json" ? `{\n  "stdout": "${line.trimEnd()}\\n` : "{\n  \"id\": "), r.head);
      assert.ok(r.tail.endsWith(`\\n",\n  "stderr": ""\n}\n`), r.tail);
      // Every output byte is there, each newline written as \n (two characters).
      assert.ok(r.bytes > SIZE, `printed ${r.bytes} bytes`);
      assert.ok(r.peak > 0, "the CLI's memory was read while it ran");
      assert.ok(r.peak < LIMIT, `peak RSS ${(r.peak / 2 ** 20).toFixed(0)} MiB`);
      console.log(`# ${label}: ${r.bytes} bytes of JSON, peak RSS of the CLI ${(r.peak / 2 ** 20).toFixed(1)} MiB`);
    });
  }
});
