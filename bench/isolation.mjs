// What isolation and confinement cost (issues 11 and 21): `/bin/true` jobs at concurrency
// 16 through the default pool (on a root server: isolated and confined, its own uid, no
// capability, seccomp, the host read-only, a private /dev), through one without
// namespaces, against raw spawn and against bubblewrap, alternated in one run.
// Plain node on the built dist/ (`npm run build` first), so that no loader slows a
// baseline; raw spawns and bubblewrap are spawned by a small fresh process
// (support/spawn-batch.mjs), never by this one, which holds the pools.
// Goals: confined isolated >= 0.7x raw spawn; >= 2.5x bubblewrap's rate; isolated >= 0.75x
// unisolated. BENCH_ROUNDS (default 4) alternated rounds of JOBS/ROUNDS jobs each.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobPool } from "../dist/index.js";
import { fileCreateProbe, spawnBatch, verdict, which } from "./support/baseline.mjs";

const JOBS = 500;
const CONCURRENCY = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
/** Past this, no new round starts (the rounds done so far are reported). */
const BUDGET_MS = 300_000;
const GOAL_RAW = 0.7;
const GOAL_BWRAP = 2.5;
const GOAL_UNISOLATED = 0.75;
/** bubblewrap with what a jobworker job gets of it: PID, IPC, UTS and mount namespaces, the host read-only, its own /proc, /dev and /tmp. */
const BWRAP_ARGS = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "true"];

const work = mkdtempSync(join(tmpdir(), "jobworker-bench-isolation-"));
const isolated = await JobPool.open({ dataDir: join(work, "isolated") });
const plain = await JobPool.open({ dataDir: join(work, "plain"), isolation: false });

async function timed(total, startOne) {
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < total) await startOne();
    }),
  );
  return performance.now() - start;
}

try {
  if (!isolated.isolation().enabled) {
    console.log(`isolation not available here, nothing to compare: ${isolated.isolation().summary}`);
  } else {
    const bwrap = which("bwrap");
    if (!bwrap) console.log("bubblewrap (bwrap) is not installed: the comparison with it is skipped (Debian/Ubuntu: apt-get install bubblewrap)");
    const isolatedJob = () => isolated.wait(isolated.create({ cmd: "/bin/true" }));
    const plainJob = () => plain.wait(plain.create({ cmd: "/bin/true" }));
    // Warm-up, untimed: the identity's home, the cgroup tree, the launchers' spares.
    await timed(2 * CONCURRENCY, isolatedJob);
    await timed(2 * CONCURRENCY, plainJob);
    const ms = { raw: 0, bwrap: 0, plain: 0, isolated: 0 };
    const per = Math.ceil(JOBS / ROUNDS);
    const began = performance.now();
    let rounds = 0;
    const perRound = [];
    let probeUs = 0;
    const r = (t) => (per / (t / 1000)).toFixed(0);
    while (rounds < ROUNDS && (rounds === 0 || performance.now() - began < BUDGET_MS)) {
      const raw = (await spawnBatch(per, CONCURRENCY, "/bin/true")).ms;
      const iso = await timed(per, isolatedJob);
      const bw = bwrap ? (await spawnBatch(per, CONCURRENCY, bwrap, BWRAP_ARGS)).ms : 0;
      const pl = await timed(per, plainJob);
      ms.raw += raw;
      ms.isolated += iso;
      ms.bwrap += bw;
      ms.plain += pl;
      perRound.push(`${r(raw)}/${bwrap ? r(bw) : "-"}/${r(iso)}/${r(pl)}`);
      probeUs += fileCreateProbe(work);
      rounds++;
    }
    const jobs = per * rounds;
    const rate = (t) => (jobs / (t / 1000)).toFixed(0);
    const partial = rounds < ROUNDS ? ` (time budget: ${rounds} of ${ROUNDS} rounds)` : "";
    console.log(
      `${jobs} /bin/true jobs each at concurrency ${CONCURRENCY}, ${rounds} alternated rounds${partial}: raw spawn ${rate(ms.raw)}/s${bwrap ? `, bubblewrap ${rate(ms.bwrap)}/s` : ""}, JobPool isolated (confinement ${isolated.confinement().mode}) ${rate(ms.isolated)}/s, without isolation (confinement ${plain.confinement().mode}) ${rate(ms.plain)}/s`,
    );
    const vsRaw = ms.raw / ms.isolated;
    console.log(`  isolated confined/raw spawn = ${vsRaw.toFixed(2)} (goal >= ${GOAL_RAW}) ${verdict(vsRaw, GOAL_RAW)}`);
    if (bwrap) {
      const vsBwrap = ms.bwrap / ms.isolated;
      console.log(`  isolated confined/bubblewrap = ${vsBwrap.toFixed(2)}x bubblewrap's rate (goal >= ${GOAL_BWRAP}) ${verdict(vsBwrap, GOAL_BWRAP)}`);
    }
    const cost = ms.plain / ms.isolated;
    console.log(`  isolated/unisolated throughput = ${cost.toFixed(2)} (goal >= ${GOAL_UNISOLATED}) ${verdict(cost, GOAL_UNISOLATED)}`);
    console.log(`  per round, jobs/s raw/bubblewrap/isolated/unisolated: ${perRound.join(", ")}; a new file on the data directory's file system costs ${(probeUs / rounds).toFixed(0)} us meanwhile (a job's first process makes 2)`);
    console.log(`  unisolated/raw spawn = ${(ms.raw / ms.plain).toFixed(2)}${bwrap ? `, bubblewrap/raw spawn = ${(ms.raw / ms.bwrap).toFixed(2)}` : ""}`);
  }
} finally {
  await Promise.all([isolated.close(), plain.close()]);
  rmSync(work, { recursive: true, force: true });
}
