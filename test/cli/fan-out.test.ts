// The pieces of `run --on` that need no server: line prefixing and bounded concurrency.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { prefixLines } from "../../src/cli/fan-out/prefix-lines.js";
import { mapBounded } from "../../src/cli/fan-out/bounded.js";
import { mkdirSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { openOutputFiles } from "../../src/cli/fan-out/run-on.js";
import { UserError } from "../../src/user-error.js";
import { tempDir } from "../helpers/temp-dir.js";

async function prefixed(chunks: string[], maxLine?: number): Promise<string[]> {
  async function* src() {
    for (const c of chunks) yield Buffer.from(c);
  }
  const out: string[] = [];
  for await (const b of prefixLines(src(), "h: ", maxLine)) out.push(b.toString());
  return out;
}

describe("prefixLines", () => {
  it("prefixes each line and emits only whole lines, a chunk's lines together", async () => {
    assert.deepEqual(await prefixed(["a\nb\nc", "c\n", "\n"]), ["h: a\nh: b\n", "h: cc\n", "h: \n"]);
  });
  it("holds a partial line until its newline, across chunks", async () => {
    assert.deepEqual(await prefixed(["par", "ti", "al\nnext"]), ["h: partial\n", "h: next\n"]);
  });
  it("flushes a last unterminated line at the end, with a newline", async () => {
    assert.deepEqual(await prefixed(["x\ntail"]), ["h: x\n", "h: tail\n"]);
    assert.deepEqual(await prefixed([]), []);
  });
  it("cuts a held partial line once it reaches the maximum, instead of holding more", async () => {
    assert.deepEqual(await prefixed(["abcdefghij", "k"], 4), ["h: abcd\nh: efgh\n", "h: ijk\n"]);
    // What is held stays below the maximum; a newline in the next chunk ends the line there.
    assert.deepEqual(await prefixed(["abcdefg", "hij\n"], 4), ["h: abcd\n", "h: efghij\n"]);
  });
  it("keeps bytes as they are (no decoding)", async () => {
    async function* src() {
      yield Buffer.from([0xff, 0x0a, 0xc3]);
      yield Buffer.from([0xa9, 0x0a]);
    }
    const out: Buffer[] = [];
    for await (const b of prefixLines(src(), "h: ")) out.push(b);
    assert.deepEqual(Buffer.concat(out), Buffer.concat([Buffer.from("h: "), Buffer.from([0xff, 0x0a]), Buffer.from("h: "), Buffer.from([0xc3, 0xa9, 0x0a])]));
  });
});

describe("mapBounded", () => {
  it("runs at most `limit` at once, every item once, results in order", async () => {
    let active = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const work = async (n: number) => {
      active++;
      most = Math.max(most, active);
      await new Promise<void>((done) => release.push(done));
      active--;
      return n * 2;
    };
    const all = mapBounded([1, 2, 3, 4, 5], 2, work);
    // Release one waiter at a time as they arrive: event-driven, no timers.
    for (let released = 0; released < 5; released++) {
      for (let spins = 0; release.length === 0 && spins < 1000; spins++) await new Promise((r) => setImmediate(r));
      assert.ok(active <= 2);
      release.shift()!();
    }
    assert.deepEqual(await all, [2, 4, 6, 8, 10]);
    assert.equal(most, 2);
  });
  it("gives the skip result for items not started once `when` says so", async () => {
    let stop = false;
    const results = await mapBounded([1, 2, 3], 1, async (n) => {
      stop = true;
      return `ran ${n}`;
    }, { when: () => stop, result: (n) => `skipped ${n}` });
    assert.deepEqual(results, ["ran 1", "skipped 2", "skipped 3"]);
  });
});

describe("run --on --output-dir: the output files", () => {
  it("one of a host's two files failing to open leaves the other closed, not leaked", async () => {
    const dir = tempDir();
    try {
      // web1.stderr cannot be opened for writing (a directory): web1.stdout opens first.
      mkdirSync(join(dir.path, "web1.stderr"));
      const target = { name: "web1", settings: { url: "https://127.0.0.1:1", caFile: "", certFile: "", keyFile: "", home: dir.path } };
      await assert.rejects(openOutputFiles(dir.path, [target]), (err: unknown) => err instanceof UserError && err.code === "OUTPUT_FILE_FAILED" && /web1\.stderr/.test(err.message));
      const stdoutFile = join(dir.path, "web1.stdout");
      const held = readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === stdoutFile;
        } catch {
          return false; // the descriptor readdir itself used
        }
      });
      assert.deepEqual(held, [], "no descriptor of web1.stdout is left open");
    } finally {
      dir.remove();
    }
  });
});
