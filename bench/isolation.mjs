// What isolation costs (issue 11): 500 `/bin/true` jobs at concurrency 16 through a
// JobPool with namespaces, through one without, and raw child_process.spawn, alternated
// in one run. Plain node on the built dist/ (`npm run build` first), so that no loader
// slows the baseline. Goal: isolation costs at most 25% of throughput.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobPool } from "../dist/index.js";

const JOBS = 500;
const CONCURRENCY = 16;
const ROUNDS = 2;

const work = mkdtempSync(join(tmpdir(), "jobworker-bench-isolation-"));
const isolated = await JobPool.open({ dataDir: join(work, "isolated") });
const plain = await JobPool.open({ dataDir: join(work, "plain"), isolation: false });

function rawTrue() {
  return new Promise((resolve, reject) => {
    spawn("/bin/true", [], { stdio: "ignore", detached: true }).on("error", reject).on("exit", resolve);
  });
}

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
    const ms = { raw: 0, plain: 0, isolated: 0 };
    const per = JOBS / ROUNDS;
    for (let round = 0; round < ROUNDS; round++) {
      ms.raw += await timed(per, rawTrue);
      ms.plain += await timed(per, () => plain.wait(plain.create({ cmd: "/bin/true" })));
      ms.isolated += await timed(per, () => isolated.wait(isolated.create({ cmd: "/bin/true" })));
    }
    const rate = (t) => (JOBS / (t / 1000)).toFixed(0);
    console.log(`${JOBS} /bin/true jobs at concurrency ${CONCURRENCY}: raw spawn ${rate(ms.raw)}/s, JobPool without isolation ${rate(ms.plain)}/s, with isolation ${rate(ms.isolated)}/s`);
    const cost = ms.plain / ms.isolated;
    console.log(`  isolated/unisolated throughput = ${cost.toFixed(2)} (goal >= 0.75) ${cost >= 0.75 ? "OK" : "BELOW GOAL"}`);
    console.log(`  isolated/raw spawn = ${(ms.raw / ms.isolated).toFixed(2)}, unisolated/raw spawn = ${(ms.raw / ms.plain).toFixed(2)}`);
  }
} finally {
  await Promise.all([isolated.close(), plain.close()]);
  rmSync(work, { recursive: true, force: true });
}
