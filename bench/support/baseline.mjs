// Baselines measured the project's way: raw spawns come from a small fresh process
// (spawn-batch.mjs), never from the bench's own process, which holds a JobPool (and maybe
// a server) and would slow every fork it makes.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";

const here = import.meta.dirname ?? new URL(".", import.meta.url).pathname;
const SPAWN_BATCH = join(here, "spawn-batch.mjs");
/** Bound on one baseline batch: a stuck spawner fails the bench instead of hanging it. */
const BATCH_LIMIT_MS = 120_000;

/**
 * Runs `jobs` spawns of `cmd` at `concurrency` in a fresh node process and resolves with
 * { ms, heldMs }: the milliseconds they took (measured inside it: node's own start-up is
 * not counted) and those the spawn() calls held its thread.
 * Rejects when the spawner fails or a spawned command exits non-zero.
 */
export function spawnBatch(jobs, concurrency, cmd, args = [], { warmup = concurrency } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SPAWN_BATCH, String(jobs), String(concurrency), String(warmup), cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), BATCH_LIMIT_MS);
    child.on("error", reject).on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`the baseline spawner ended (${signal ?? `exit code ${code}`}): ${err.trim()}`));
      const result = JSON.parse(out.trim());
      if (result.failures > 0) return reject(new Error(`${result.failures} of ${jobs} baseline runs of ${cmd} exited non-zero`));
      resolve({ ms: result.ms, heldMs: result.heldMs });
    });
  });
}

/** Where a program is on PATH, or undefined. */
export function which(program) {
  const found = spawnSync("sh", ["-c", 'command -v "$1"', "sh", program], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

/** "OK" or `missed` (default "BELOW GOAL") for a ratio that must be at least `goal`. */
export function verdict(ratio, goal, missed = "BELOW GOAL") {
  return ratio >= goal ? "OK" : missed;
}

/**
 * What making a file costs in `parent`'s file system right now: microseconds per
 * open(O_CREAT) and close of `n` new files. A job's first process makes two (its stdout and
 * stderr), and on some hosts that cost swings by 20x with what the
 * rest of the machine does (an ext4 without a journal skips every inode deleted in the
 * last minute or more, one by one). A probe to read the throughput figures by; no baseline.
 */
export function fileCreateProbe(parent, n = 50) {
  const dir = mkdtempSync(join(parent, "probe-"));
  const start = performance.now();
  for (let i = 0; i < n; i++) closeSync(openSync(join(dir, `${i}.out`), "a", 0o600));
  const us = ((performance.now() - start) * 1000) / n;
  rmSync(dir, { recursive: true, force: true });
  return us;
}
