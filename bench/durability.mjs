// Durability benchmark (issue 6): start-up time with 100,000 finished jobs on record,
// against the time to open the same SQLite file and do nothing else (the floor).
// Plain node on the built dist/ (`npm run build` first).
import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobPool } from "../dist/index.js";
import { JobStore } from "../dist/engine/job-store.js";

const work = mkdtempSync(join(tmpdir(), "jobworker-bench-"));
const dataDir = join(work, "data");
mkdirSync(dataDir);
const total = 100_000;
const seedStart = performance.now();
const store = new JobStore(dataDir);
const now = Date.now();
for (let done = 0; done < total; done += 10_000) {
  store.insertMany(
    Array.from({ length: 10_000 }, (_, i) => ({
      id: randomUUID(),
      owner: `client-${(done + i) % 50}`,
      cmd: "make",
      args: ["test", `--shard=${done + i}`],
      cwd: "/srv/build",
      envNames: ["CI"],
      createdAt: now - total + done + i,
      endedAt: now - total + done + i + 1,
      state: "completed",
      exitCode: 0,
      stdoutBytes: 1234,
      stderrBytes: 0,
    })),
  );
}
await store.close();
console.log(`seeded ${total} records in ${(performance.now() - seedStart).toFixed(0)} ms`);

const floorStart = performance.now();
new Database(join(dataDir, "jobs.db")).close();
const floor = performance.now() - floorStart;

const openStart = performance.now();
const pool = await JobPool.open({ dataDir });
const opened = performance.now() - openStart;
const pageStart = performance.now();
const page = pool.listPage({ owner: "client-7", limit: 100 });
const deepPage = pool.listPage({ owner: "client-7", limit: 100, cursor: String(total / 2) });
const paged = performance.now() - pageStart;
await pool.close();
rmSync(work, { recursive: true, force: true });

console.log(`start-up with ${total} jobs on record: ${opened.toFixed(0)} ms (target < 2000 ms) ${opened < 2000 ? "OK" : "ABOVE TARGET"}`);
console.log(`  bare SQLite open of the same file: ${floor.toFixed(1)} ms; ratio ${(opened / Math.max(floor, 0.1)).toFixed(1)}x`);
console.log(`  two list pages of 100 (first, and from the middle): ${paged.toFixed(1)} ms (${page.jobs.length + deepPage.jobs.length} records)`);
