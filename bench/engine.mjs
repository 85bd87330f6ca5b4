// Engine benchmarks (issues 2, 12 and 20). Each prints a ratio against a baseline measured
// in the same run on the same machine: absolute times on a shared 2-core host mean little.
// Plain node on the built dist/ (`npm run build` first), so that no loader slows a baseline,
// and every raw spawn comes from a small fresh process (support/spawn-batch.mjs), never
// from this one, which holds the pool.
// BENCH_ROUNDS (default 4) alternated rounds of the throughput bench; BENCH_BURST
// (default 2000) jobs created in one turn.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobPool } from "../dist/index.js";
import { fileCreateProbe, spawnBatch, verdict } from "./support/baseline.mjs";

const JOBS = 500;
const CONCURRENCY = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const BURST = Number(process.env.BENCH_BURST ?? 2000);
/** Past this, no new round starts (the rounds done so far are reported). */
const THROUGHPUT_BUDGET_MS = 240_000;
const THROUGHPUT_GOAL = 0.8;

const work = mkdtempSync(join(tmpdir(), "jobworker-bench-"));
// The pool as `serve` opens it: every job through the launcher, isolated and confined
// where the host allows it (a root server: its own uid, no capability, seccomp, the
// host read-only, a private /dev).
const pool = await JobPool.open({ dataDir: join(work, "data") });
const poolKind = `${pool.isolation().enabled ? "isolated" : "not isolated"}, confinement ${pool.confinement().mode}`;

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
  const per = Math.ceil(JOBS / ROUNDS);
  // Alternate the three, round after round, so drift in the machine's load hits them
  // alike. Also measured: how long each start holds the thread that makes it (for the
  // pool, the server's HTTP thread; for raw spawn, the small process's).
  const ms = { raw: 0, create: 0, start: 0 };
  const held = { raw: 0, create: 0, start: 0 };
  const holding = (key, begin) => async () => {
    const before = performance.now();
    const done = begin();
    held[key] += performance.now() - before;
    await done;
  };
  const createWait = () => pool.wait(pool.create({ cmd: "/bin/true" }));
  const startWait = async () => pool.wait(await pool.start({ cmd: "/bin/true" }));
  // Warm-up (the identity's home, the cgroup tree, the launcher's spares), untimed.
  await inBatches(2 * CONCURRENCY, CONCURRENCY, createWait);
  const began = performance.now();
  let rounds = 0;
  const perRound = [];
  let probeUs = 0;
  while (rounds < ROUNDS && (rounds === 0 || performance.now() - began < THROUGHPUT_BUDGET_MS)) {
    const raw = await spawnBatch(per, CONCURRENCY, "/bin/true");
    const create = await timed(() => inBatches(per, CONCURRENCY, holding("create", createWait)));
    const start = await timed(() => inBatches(per, CONCURRENCY, holding("start", startWait)));
    ms.raw += raw.ms;
    held.raw += raw.heldMs;
    ms.create += create;
    ms.start += start;
    probeUs += fileCreateProbe(work);
    const r = (t) => (per / (t / 1000)).toFixed(0);
    perRound.push(`${r(raw.ms)}/${r(create)}/${r(start)}`);
    rounds++;
  }
  const jobs = per * rounds;
  const rate = (t) => (jobs / (t / 1000)).toFixed(0);
  const perJob = (key) => (held[key] / jobs).toFixed(2);
  const partial = rounds < ROUNDS ? ` (time budget: ${rounds} of ${ROUNDS} rounds)` : "";
  console.log(`${jobs} /bin/true jobs each at concurrency ${CONCURRENCY}, ${rounds} alternated rounds${partial}: raw spawn (small fresh process) ${rate(ms.raw)}/s, JobPool (${poolKind}) create+wait ${rate(ms.create)}/s, start then wait ${rate(ms.start)}/s`);
  const createRatio = ms.raw / ms.create;
  const startRatio = ms.raw / ms.start;
  console.log(`  throughput ratio create+wait/raw spawn = ${createRatio.toFixed(2)} (goal >= ${THROUGHPUT_GOAL}) ${verdict(createRatio, THROUGHPUT_GOAL)}`);
  console.log(`  throughput ratio start+wait/raw spawn = ${startRatio.toFixed(2)} (goal >= ${THROUGHPUT_GOAL}) ${verdict(startRatio, THROUGHPUT_GOAL)}`);
  console.log(`  per round, jobs/s raw/create/start: ${perRound.join(", ")}`);
  console.log(`  thread held per start: raw spawn() ${perJob("raw")} ms (in its small process), create() ${perJob("create")} ms, start() ${perJob("start")} ms (in the pool's process); a new file on the data directory's file system costs ${(probeUs / rounds).toFixed(0)} us meanwhile (the job's first process makes 2)`);
}

/**
 * BURST `create()` calls in one turn, then every job awaited; a 10 ms interval watches
 * the event loop meanwhile, so its longest gap is the longest stall.
 */
async function burst() {
  let last = performance.now();
  let longest = 0;
  const watchdog = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  await new Promise((resolve) => setTimeout(resolve, 50));
  longest = 0;
  const began = performance.now();
  const ids = [];
  for (let i = 0; i < BURST; i++) ids.push(pool.create({ cmd: "/bin/true" }));
  const createMs = performance.now() - began;
  // The create turn stalls the loop by itself; what follows is measured apart.
  await new Promise((resolve) => setImmediate(resolve));
  const stallWithTurn = Math.max(longest, performance.now() - last);
  longest = 0;
  last = performance.now();
  const statuses = await Promise.all(ids.map((id) => pool.wait(id)));
  const allMs = performance.now() - began;
  clearInterval(watchdog);
  const stallAfter = Math.max(longest, performance.now() - last);
  const counts = {};
  for (const { state, exitCode, errorCode } of statuses) {
    const key = state === "completed" ? `completed (exit ${exitCode})` : `${state}${errorCode ? ` (${errorCode})` : ""}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  const tally = Object.entries(counts).map(([status, n]) => `${n} ${status}`).join(", ");
  console.log(`burst of ${BURST} create() in one turn (${poolKind}): ${(BURST / (createMs / 1000)).toFixed(0)} creates/s (${createMs.toFixed(0)} ms, ${((createMs * 1000) / BURST).toFixed(0)} us each), all ended after ${allMs.toFixed(0)} ms (${(BURST / (allMs / 1000)).toFixed(0)} jobs/s; ${tally})`);
  console.log(`  longest event-loop stall (10 ms watchdog's max gap): ${stallWithTurn.toFixed(0)} ms including the create turn, ${stallAfter.toFixed(0)} ms after it while the ${BURST} jobs started and ended`);
  for (const id of ids) await pool.delete(id);
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
    // The baseline from a small fresh process, as the others.
    direct = Math.min(direct, (await spawnBatch(1, 1, "sh", ["-c", `head -c ${size} /dev/zero > ${file}`], { warmup: 0 })).ms);
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
  console.log(`  time ratio JobPool/direct = ${ratio.toFixed(2)} (goal <= 1.25) ${ratio <= 1.25 ? "OK" : "ABOVE GOAL"}`);
  console.log(`  peak RSS growth ${(maxRssGrowth / 2 ** 20).toFixed(1)} MiB (goal < 64 MiB) ${maxRssGrowth < 64 * 2 ** 20 ? "OK" : "ABOVE GOAL"}`);
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
  await burst();
  await bigOutput();
  await manyFollowers();
} finally {
  await pool.close();
  rmSync(work, { recursive: true, force: true });
}
