// A baseline's spawner: a small fresh process that imports nothing but child_process,
// spawns a command JOBS times, at most CONCURRENCY at a time, and prints the elapsed
// milliseconds (and how long the spawn() calls held its thread) as one JSON line. Run as its own process (bench/support/baseline.mjs), so
// that no JobPool, server, loader or harness in the bench's process slows the baseline.
// Usage: node spawn-batch.mjs JOBS CONCURRENCY WARMUP CMD [ARG...]
// WARMUP spawns run first, untimed (the first forks of a fresh process pay for its page
// tables and the command's first exec).
import { spawn } from "node:child_process";

const [jobs, concurrency, warmup] = process.argv.slice(2, 5).map(Number);
const [cmd, ...args] = process.argv.slice(5);
if (!(jobs > 0 && concurrency > 0 && warmup >= 0) || !cmd) {
  process.stderr.write("usage: node spawn-batch.mjs JOBS CONCURRENCY WARMUP CMD [ARG...]\n");
  process.exit(2);
}

let failures = 0;
let heldMs = 0;
function once() {
  return new Promise((resolve, reject) => {
    // Its own session, as the launcher gives each job; cwd / so that a tool that mounts
    // over /tmp (bubblewrap) never loses its working directory.
    const before = performance.now();
    const child = spawn(cmd, args, { stdio: "ignore", detached: true, cwd: "/" });
    heldMs += performance.now() - before;
    child
      .on("error", reject)
      .on("exit", (code) => {
        if (code !== 0) failures++;
        resolve();
      });
  });
}

async function batch(total) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next++ < total) await once();
    }),
  );
}

if (warmup > 0) await batch(warmup);
failures = 0;
heldMs = 0;
const start = performance.now();
await batch(jobs);
const ms = performance.now() - start;
process.stdout.write(`${JSON.stringify({ ms, jobs, failures, heldMs })}\n`);
