// What capturing a flood of output costs: a job writes 1 GiB (`head -c 1G /dev/zero`)
// into its output, under a pool in a process of its own (support/capture-server.mjs),
// against the same command writing to a file from a small fresh process. Prints the
// capture ratio (job time / baseline time, goal at most 1.1) and the pool process's CPU
// per GiB (utime + stime from /proc/<pid>/stat, goal at most 0.5 s), for the output
// watch as it is (events bounded under load) and as it was (one event per write), and
// how late a follower of another job was woken meanwhile. The ratio is of the rounds'
// totals: wall times of 1 GiB writes swing with writeback and with what else the host
// runs, so read it with the load average it prints.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { spawnBatch } from "./support/baseline.mjs";

const here = import.meta.dirname ?? new URL(".", import.meta.url).pathname;
const ROUNDS = 3;
const TICKS_PER_HZ = 100; // USER_HZ on Linux

const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "jobworker-capture-"));

/** utime + stime of `pid`, in seconds. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_HZ;
}

/** A capture server with the watch `rate`; `run(job)` answers with its line. */
async function captureServer(name, rate) {
  const child = spawn(process.execPath, [join(here, "support/capture-server.mjs"), join(work, name), JSON.stringify(rate)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    pid: child.pid,
    async run(job) {
      child.stdin.write(`${JSON.stringify(job)}\n`);
      const next = await lines.next();
      if (next.done) throw new Error("the capture server ended");
      return JSON.parse(next.value);
    },
    close: () => new Promise((resolve) => child.once("exit", resolve).stdin.end()),
  };
}

const flood = { cmd: "sh", args: ["-c", "head -c 1G /dev/zero"] };
const designs = [
  ["bounded (pause 20 ms after a burst of 8 events)", {}],
  ["one event per write (as before)", { burstEvents: Number.MAX_SAFE_INTEGER }],
];
const fmt = (n, digits = 2) => n.toFixed(digits);
try {
  console.log(`load average: ${readFileSync("/proc/loadavg", "latin1").split(" ").slice(0, 3).join(" ")}`);
  for (const [label, rate] of designs) {
    const server = await captureServer(label.split(" ")[0], rate);
    await server.run({ cmd: "true", args: [] }); // warm-up: the pool's first job
    const ratios = [];
    const totals = { job: 0, base: 0 };
    const cpus = [];
    let latencies = [];
    for (let round = 0; round < ROUNDS; round++) {
      const file = join(work, "baseline.out");
      // Each run starts with no dirty pages of the one before it to write back.
      spawnSync("sync");
      const base = await spawnBatch(1, 1, "sh", ["-c", `head -c 1G /dev/zero > ${file}`], { warmup: 0 });
      rmSync(file, { force: true });
      spawnSync("sync");
      const before = cpuSeconds(server.pid);
      const run = await server.run({ ...flood, tick: Math.ceil(base.ms / 100) + 5 });
      const cpu = cpuSeconds(server.pid) - before;
      if (run.status !== "completed" || run.exitCode !== 0) throw new Error(`the flood job ended ${run.status}`);
      ratios.push(run.ms / base.ms);
      totals.job += run.ms;
      totals.base += base.ms;
      cpus.push(cpu);
      latencies = latencies.concat(run.latencies);
      console.log(`  ${label}: round ${round + 1}: job ${fmt(run.ms, 0)} ms, baseline ${fmt(base.ms, 0)} ms`);
    }
    await server.close();
    latencies.sort((a, b) => a - b);
    const p = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    const ratio = totals.job / totals.base;
    const worstCpu = Math.max(...cpus);
    console.log(`capture ratio, 1 GiB, ${label}: ${fmt(ratio)} over ${ROUNDS} rounds (each: ${ratios.map((r) => fmt(r)).join(", ")}) (goal <= 1.1: ${ratio <= 1.1 ? "OK" : "MISSED"})`);
    console.log(`server CPU per GiB, ${label}: ${cpus.map((c) => `${fmt(c)} s`).join(", ")} (goal <= 0.5 s: ${worstCpu <= 0.5 ? "OK" : "MISSED"})`);
    console.log(`follower wake-up during the flood, ${label}: median ${fmt(p(0.5), 0)} ms, p99 ${fmt(p(0.99), 0)} ms, max ${fmt(latencies.at(-1) ?? NaN, 0)} ms (${latencies.length} lines)`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
