// The side index of capture times: bounded per job, read back after a restart, removed
// with the job; tail, since and timestamps read through it, and the bytes stay exact.
import assert from "node:assert/strict";
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { JobPool, type OutputChunk } from "../../src/index.js";
import { ChunkReader } from "../../src/engine/output-chunks.js";
import { OutputNotifier } from "../../src/engine/output-notifier.js";
import { MAX_TIME_ENTRIES, OutputTimes, readTimes } from "../../src/engine/output-times.js";
import { assertCapturedWhenWritten, followStamped, linesOf, stampedScript } from "../helpers/stamped-lines.js";
import { chunksOf, collect, readUntil } from "../helpers/streams.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("OutputTimes", () => {
  const dir = tempDir();
  after(() => dir.remove());

  it("stays within its bound, covering every byte in order, with times that only grow", () => {
    const path = join(dir.path, "times", "job.times");
    const times = new OutputTimes(path);
    const sizes: [number, number] = [0, 0];
    const samples = 5 * MAX_TIME_ENTRIES;
    for (let i = 1; i <= samples; i++) {
      sizes[i % 3 === 0 ? 1 : 0] += 10;
      times.sample(sizes, 1_000_000 + i);
      assert.ok(times.entries.length < MAX_TIME_ENTRIES);
    }
    times.close();
    assert.ok(times.generation > 0, "the index merged entries at its bound");
    assert.ok(statSync(path).size <= 8 + 16 * MAX_TIME_ENTRIES, "the file is bounded too");
    const read = readTimes(path, sizes, [0, 0]);
    assert.equal(read.entries.length, times.entries.length, "the file holds what memory held");
    for (const stream of [0, 1] as const) {
      const own = read.entries.filter((e) => e.stream === stream);
      assert.equal(own[0]!.start, 0);
      for (let i = 1; i < own.length; i++) assert.equal(own[i]!.start, own[i - 1]!.end, "contiguous");
      assert.equal(own.at(-1)!.end, sizes[stream]);
    }
    for (let i = 1; i < read.entries.length; i++) assert.ok(read.entries[i]!.time >= read.entries[i - 1]!.time);
    // The first samples kept their exact times; only later ones were merged.
    assert.equal(read.entries[0]!.time, 1_000_001);
  });

  it("keeps a live reader exact while entries merge under it", async () => {
    const paths: [string, string] = [join(dir.path, "live.stdout"), join(dir.path, "live.stderr")];
    for (const path of paths) writeFileSync(path, "");
    const times = new OutputTimes(join(dir.path, "times", "live.times"));
    const notifier = new OutputNotifier();
    const reader = new ChunkReader(paths, notifier, () => times, { follow: true, limit: Number.MAX_SAFE_INTEGER, seek: {} });
    const got = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const reading = (async () => {
      for await (const chunk of reader as AsyncIterable<OutputChunk>) got[chunk.stream].push(chunk.data);
    })();
    const sizes: [number, number] = [0, 0];
    for (let i = 0; i < 2.5 * MAX_TIME_ENTRIES; i++) {
      const stream = i % 3 === 0 ? 1 : 0;
      const piece = `${stream}:${i}\n`;
      appendFileSync(paths[stream], piece);
      sizes[stream] += piece.length;
      if (times.sample(sizes, 1_000_000 + i)) notifier.changed();
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    notifier.end();
    await reading;
    assert.ok(times.generation > 0, "entries merged while the reader read");
    assert.ok(Buffer.concat(got.stdout).equals(readFileSync(paths[0])), "stdout exact, every byte once");
    assert.ok(Buffer.concat(got.stderr).equals(readFileSync(paths[1])), "stderr exact, every byte once");
    times.close();
  });

  it("gives bytes no entry covers the file's time (a job from before the index)", () => {
    const view = readTimes(join(dir.path, "missing.times"), [5, 0], [1234, 0]);
    assert.deepEqual(view.entries, [{ stream: 0, start: 0, end: 5, time: 1234 }]);
  });
});

describe("JobPool output times", () => {
  const dir = tempDir();
  const dataDir = join(dir.path, "data");
  let pool: JobPool;
  before(async () => {
    // Jobs may run as another uid: they must see the gate files put here.
    chmodSync(dir.path, 0o755);
    pool = await JobPool.open({ isolation: false, dataDir, stopGraceMs: 500 });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("stamps lines with when they were written, and keeps them across a restart", async () => {
    const gateDir = mkdtempSync(join(dir.path, "gates-"));
    chmodSync(gateDir, 0o755);
    const id = pool.create({ cmd: "sh", args: ["-c", stampedScript(["one", "errtwo", "three"], gateDir)] });
    const lines = await followStamped(linesOf(pool.log(id, { follow: true }) as AsyncIterable<OutputChunk>), gateDir, 3);
    await pool.wait(id);
    assert.deepEqual(lines.map((l) => [l.stream, l.word]), [["stdout", "one"], ["stderr", "errtwo"], ["stdout", "three"]], "capture order is write order");
    assertCapturedWhenWritten(lines);
    const check = async (label: string) => {
      const stamped = (await collect(pool.stream(id, "stdout", { timestamps: true }))).toString();
      const outLines = lines.filter((l) => l.stream === "stdout");
      assert.equal(stamped, outLines.map((l) => `${new Date(l.capturedAt).toISOString()} ${l.word} ${l.writtenAt}\n`).join(""), label);
      assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z one /);
      const log = await chunksOf(pool.log(id));
      assert.deepEqual(
        log.map((c) => [c.stream, c.time, c.data.toString()]),
        lines.map((l) => [l.stream, l.capturedAt, `${l.word} ${l.writtenAt}\n`]),
        label,
      );
    };
    await check("while the server runs");
    const written = lines.filter((l) => l.stream === "stdout").map((l) => `${l.word} ${l.writtenAt}\n`).join("");
    assert.equal((await collect(pool.stream(id, "stdout"))).toString(), written, "the bytes are the job's");
    await pool.close();
    pool = await JobPool.open({ isolation: false, dataDir, stopGraceMs: 500 });
    await check("after a restart");
    const timesFile = join(dataDir, "jobs", "times", `${id}.times`);
    assert.ok(existsSync(timesFile));
    await pool.delete(id);
    assert.ok(!existsSync(timesFile), "deleting the job removes its index");
  });

  it("starts at the last lines, or at what was captured since a time, and follows", async () => {
    const gate = join(dir.path, `gate-${Date.now()}`);
    const id = pool.create({ cmd: "sh", args: ["-c", `printf 'a\\nb\\nc\\n'; while [ ! -e ${gate} ]; do sleep 0.02; done; echo d`] });
    // Followers attached while the job waits on its gate; their first bytes say they are.
    const waitFor = async (stream: AsyncIterable<unknown>, want: string) => {
      let got = "";
      const it = stream[Symbol.asyncIterator]();
      while (!got.includes(want)) {
        const next = await it.next();
        if (next.done) break;
        got += Buffer.isBuffer(next.value) ? next.value.toString() : (next.value as OutputChunk).data.toString();
      }
      return { got, it };
    };
    // The first lines are written before the readers below ask for the last of them.
    await readUntil(pool.stream(id, "stdout", { follow: true }), (soFar) => soFar.toString().endsWith("c\n"));
    const tail1 = await waitFor(pool.stream(id, "stdout", { tail: 1, follow: true }), "c\n");
    assert.equal(tail1.got, "c\n");
    const log2 = await waitFor(pool.log(id, { tail: 2, follow: true }), "c\n");
    assert.equal(log2.got, "b\nc\n");
    // Where tail counts from is fixed by the call, not by the first read: this reader is
    // first read after the job wrote its last line and ended.
    const none = pool.stream(id, "stdout", { tail: 0, follow: true });
    writeFileSync(gate, "");
    await pool.wait(id);
    assert.equal((await collect(none)).toString(), "d\n", "tail=0 with follow gives only what comes next");
    const rest = async (it: AsyncIterator<unknown>) => {
      let text = "";
      for (let next = await it.next(); !next.done; next = await it.next()) text += Buffer.isBuffer(next.value) ? next.value.toString() : (next.value as OutputChunk).data.toString();
      return text;
    };
    assert.equal(await rest(tail1.it), "d\n");
    assert.equal(await rest(log2.it), "d\n");
    const times = (await chunksOf(pool.log(id))).map((c) => c.time);
    const since = times.at(-1)!;
    assert.equal((await collect(pool.stream(id, "stdout", { since }))).toString(), "d\n");
    assert.equal((await collect(pool.stream(id, "stdout", { since: new Date(since + 60_000) }))).toString(), "");
    assert.equal((await collect(pool.stream(id, "stdout", { since: 0, tail: 2 }))).toString(), "c\nd\n", "both: the later start wins");
    assert.equal((await collect(pool.stream(id, "stdout", { offset: 2, timestamps: true }))).toString().replace(/^\S+ /gm, ""), "b\nc\nd\n");
    assert.throws(() => pool.stream(id, "stdout", { offset: 1, tail: 1 }), { code: "INVALID_ARGUMENT" });
    assert.throws(() => pool.stream(id, "stdout", { tail: -1 }), { code: "INVALID_ARGUMENT" });
    assert.deepEqual(readdirSync(join(dataDir, "jobs", "times")).filter((n) => n.startsWith(id)), [`${id}.times`]);
  });
});
