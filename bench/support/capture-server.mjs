// A JobPool in a process of its own, for bench/capture.mjs: the bench reads this process's
// CPU time from /proc/<pid>/stat, so nothing else may run on its thread.
// Usage: node capture-server.mjs DATADIR WATCH_RATE_JSON. Each stdin line is a job,
// {"cmd", "args", "tick"?}: it runs, and one JSON line answers {ms, latencies} where
// `ms` runs from the start to the recorded end, and `latencies` (with `tick`, a second
// job printing its clock every 100 ms while the first runs) are how late a follower of
// that second job saw each line, in ms.
import { createInterface } from "node:readline";
import { JobPool } from "../../dist/index.js";

const [dataDir, rate] = process.argv.slice(2);
const pool = await JobPool.open({ dataDir, outputWatch: JSON.parse(rate ?? "{}") });

async function follow(id) {
  const latencies = [];
  let partial = "";
  for await (const chunk of pool.stream(id, "stdout", { follow: true })) {
    const now = Date.now();
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop();
    for (const line of lines) latencies.push(now - Number(line) / 1e6);
  }
  return latencies;
}

for await (const line of createInterface({ input: process.stdin })) {
  const job = JSON.parse(line);
  const start = performance.now();
  const id = await pool.start({ cmd: job.cmd, args: job.args });
  const ticker = job.tick ? await pool.start({ cmd: "sh", args: ["-c", "for i in $(seq 1 $1); do date +%s%N; sleep 0.1; done", "sh", String(job.tick)] }) : undefined;
  const latencies = ticker ? follow(ticker) : Promise.resolve([]);
  const status = await pool.wait(id);
  const ms = performance.now() - start;
  if (ticker) await pool.wait(ticker);
  process.stdout.write(`${JSON.stringify({ ms, status: status.state, exitCode: status.exitCode, latencies: await latencies })}\n`);
  await pool.delete(id);
  if (ticker) await pool.delete(ticker);
}
await pool.close();
