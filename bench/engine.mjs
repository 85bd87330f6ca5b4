// Engine benchmarks (issues 2 and 12). Each prints a ratio against a baseline measured in
// the same run on the same machine: absolute times on a shared 2-core host mean little.
// Plain node on the built dist/ (`npm run build` first), so that no loader slows a baseline.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobPool } from "../dist/index.js";

const work = mkdtempSync(join(tmpdir(), "jobworker-bench-"));
// The pool as `serve` opens it: the launcher and isolation where the host allows them.
const pool = await JobPool.open({ dataDir: join(work, "data") });
// The same without the launcher: every job spawned by this thread.
const direct = await JobPool.open({ dataDir: join(work, "direct"), launcher: false });

function spawnAndWait(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "ignore", detached: true });
    child.on("error", reject).on("exit", () => resolve());
  });
}

async function timed(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Runs `total` jobs, at most `concurrency` at a time. */
async function inBatches(total, concurrency, startOne) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await startOne();
    }),
  );
}

async function throughput() {
  const jobs = 500;
  const concurrency = 16;
  // Alternate the three, twice, so drift in the machine's load hits them alike. Also
  // measured: how long each start holds this thread (the server's HTTP thread).
  const ms = { raw: 0, pool: 0, direct: 0 };
  const held = { raw: 0, pool: 0, direct: 0 };
  const holding = (key, start) => async () => {
    const before = performance.now();
    const done = start();
    held[key] += performance.now() - before;
    await done;
  };
  for (let round = 0; round < 2; round++) {
    ms.raw += await timed(() => inBatches(jobs / 2, concurrency, holding("raw", () => spawnAndWait("/bin/true", []))));
    ms.pool += await timed(() => inBatches(jobs / 2, concurrency, holding("pool", () => pool.wait(pool.create({ cmd: "/bin/true" })))));
    ms.direct += await timed(() => inBatches(jobs / 2, concurrency, holding("direct", () => direct.wait(direct.create({ cmd: "/bin/true" })))));
  }
  const rate = (t) => (jobs / (t / 1000)).toFixed(0);
  const perJob = (key) => (held[key] / jobs).toFixed(2);
  console.log(`500 /bin/true jobs at concurrency ${concurrency}: raw spawn ${rate(ms.raw)}/s, JobPool ${rate(ms.pool)}/s (${pool.startPath().launcher ? "launcher" : "no launcher"}, ${pool.isolation().enabled ? "isolated" : "not isolated"}), JobPool spawning from its thread ${rate(ms.direct)}/s`);
  const ratio = ms.raw / ms.pool;
  console.log(`  throughput ratio JobPool/raw = ${ratio.toFixed(2)} (target >= 0.8) ${ratio >= 0.8 ? "OK" : "BELOW TARGET"}; without the launcher ${(ms.raw / ms.direct).toFixed(2)}`);
  console.log(`  this thread held per start: raw spawn ${perJob("raw")} ms, JobPool ${perJob("pool")} ms, without the launcher ${perJob("direct")} ms`);
}

async function bigOutput() {
  const size = "1G";
  const file = join(work, "direct.out");
  const maxRssBefore = process.resourceUsage().maxRSS * 1024;
  // Best of two for each, alternated, so a passing burst of load hits both alike.
  let direct = Infinity;
  let captured = Infinity;
  let bytes = 0;
  for (let round = 0; round < 2; round++) {
    direct = Math.min(direct, await timed(() => spawnAndWait("sh", ["-c", `head -c ${size} /dev/zero > ${file}`])));
    rmSync(file);
    let id = "";
    captured = Math.min(
      captured,
      await timed(async () => {
        id = pool.create({ cmd: "head", args: ["-c", size, "/dev/zero"] });
        await pool.wait(id);
      }),
    );
    bytes = pool.get(id).stdoutBytes;
    await pool.delete(id);
  }
  const maxRssGrowth = process.resourceUsage().maxRSS * 1024 - maxRssBefore;
  const ratio = captured / direct;
  console.log(`1 GiB to stdout: direct to file ${direct.toFixed(0)} ms, through JobPool ${captured.toFixed(0)} ms (${bytes} bytes kept)`);
  console.log(`  time ratio JobPool/direct = ${ratio.toFixed(2)} (target <= 1.25) ${ratio <= 1.25 ? "OK" : "ABOVE TARGET"}`);
  console.log(`  peak RSS growth ${(maxRssGrowth / 2 ** 20).toFixed(1)} MiB (target < 64 MiB)`);
}

async function manyFollowers() {
  const readers = 100;
  const size = 100 * 1024 * 1024;
  const id = pool.create({ cmd: "head", args: ["-c", String(size), "/dev/urandom"] });
  const digest = (stream) =>
    new Promise((resolve, reject) => {
      const hash = createHash("sha256");
      stream.on("data", (chunk) => hash.update(chunk)).on("error", reject).on("end", () => resolve(hash.digest("hex")));
    });
  const start = performance.now();
  const digests = await Promise.all(Array.from({ length: readers }, () => digest(pool.stream(id, "stdout", { follow: true }))));
  const elapsed = performance.now() - start;
  const reference = await digest(pool.stream(id, "stdout"));
  const identical = digests.every((d) => d === reference);
  console.log(`${readers} followers of a 100 MiB output: ${elapsed.toFixed(0)} ms for all, ${((readers * size) / 2 ** 20 / (elapsed / 1000)).toFixed(0)} MiB/s delivered, every reader byte-identical: ${identical}`);
  await pool.delete(id);
  if (!identical) process.exitCode = 1;
}

try {
  await throughput();
  await bigOutput();
  await manyFollowers();
} finally {
  await Promise.all([pool.close(), direct.close()]);
  rmSync(work, { recursive: true, force: true });
}
