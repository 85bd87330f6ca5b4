// Engine benchmarks (issue 2). Each prints a ratio against a baseline measured in the
// same run on the same machine: absolute times on a shared 2-core host mean little.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobPool } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "jobworker-bench-"));
const pool = await JobPool.open({ dataDir: join(work, "data") });

function spawnAndWait(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "ignore", detached: true });
    child.on("error", reject).on("exit", () => resolve());
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Runs `total` jobs, at most `concurrency` at a time. */
async function inBatches(total: number, concurrency: number, startOne: () => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await startOne();
    }),
  );
}

async function throughput(): Promise<void> {
  const jobs = 500;
  const concurrency = 16;
  // Alternate the two, twice, so drift in the machine's load hits both alike.
  let raw = 0;
  let engine = 0;
  for (let round = 0; round < 2; round++) {
    raw += await timed(() => inBatches(jobs / 2, concurrency, () => spawnAndWait("/bin/true", [])));
    engine += await timed(() =>
      inBatches(jobs / 2, concurrency, async () => {
        await pool.wait(pool.create({ cmd: "/bin/true" }));
      }),
    );
  }
  const ratio = raw / engine;
  console.log(`500 /bin/true jobs: raw spawn ${(jobs / (raw / 1000)).toFixed(0)} jobs/s, JobPool ${(jobs / (engine / 1000)).toFixed(0)} jobs/s`);
  console.log(`  throughput ratio JobPool/raw = ${ratio.toFixed(2)} (target >= 0.8) ${ratio >= 0.8 ? "OK" : "BELOW TARGET"}`);
}

async function bigOutput(): Promise<void> {
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

async function manyFollowers(): Promise<void> {
  const readers = 100;
  const size = 100 * 1024 * 1024;
  const id = pool.create({ cmd: "head", args: ["-c", String(size), "/dev/urandom"] });
  const digest = (stream: NodeJS.ReadableStream) =>
    new Promise<string>((resolve, reject) => {
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
  await pool.close();
  rmSync(work, { recursive: true, force: true });
}
