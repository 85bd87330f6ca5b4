// What confinement costs a server that is not root (issue 22): `/bin/true` jobs at
// concurrency 16 through the default pool of an ordinary user (each job in a user
// namespace of its own with PID, mount, IPC and UTS namespaces, no capability, seccomp,
// the host read-only, a private /dev), against bubblewrap run by the same user with what
// a job gets of it, and against raw spawn, alternated in one run. Goal: at least 2x
// bubblewrap's rate.
// As root, this file makes a throwaway user (useradd) and runs itself again as that user
// (runuser); as an ordinary user it measures at once. Plain node on the built dist/;
// raw spawns and bubblewrap come from a small fresh process (support/spawn-batch.mjs).
// BENCH_ROUNDS (default 4) alternated rounds of JOBS/ROUNDS jobs each.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnBatch, verdict, which } from "./support/baseline.mjs";

const JOBS = 500;
const CONCURRENCY = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const BUDGET_MS = 300_000;
const GOAL_BWRAP = 2;
const BWRAP_ARGS = ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "true"];
const here = dirname(fileURLToPath(import.meta.url));

if (process.getuid() === 0) asThrowawayUser();
else await measure();

/** As root: the same file again, as a user made for it, from a checkout that user can read. */
function asThrowawayUser() {
  if (!which("useradd") || !which("runuser")) {
    console.log("useradd or runuser missing: the rootless bench is skipped");
    return;
  }
  const name = `jwbench${randomBytes(3).toString("hex")}`;
  const made = spawnSync("useradd", ["--create-home", "--shell", "/bin/sh", name], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`useradd: ${made.stderr}`);
  const checkout = dirname(here);
  let root = checkout;
  let mountPoint;
  const uid = Number(spawnSync("id", ["-u", name], { encoding: "utf8" }).stdout);
  const readable = spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(join(checkout, "package.json"))}, 4)`], { uid, gid: uid });
  try {
    if (readable.status !== 0) {
      // A checkout under a directory only root may enter: bound at one anyone may enter.
      mountPoint = mkdtempSync(join(tmpdir(), "jobworker-bench-checkout-"));
      chmodSync(mountPoint, 0o755);
      if (spawnSync("mount", ["--bind", checkout, mountPoint]).status !== 0) throw new Error("the checkout is not readable by an ordinary user, and bind-mounting it failed");
      root = mountPoint;
    }
    const self = join(root, relative(checkout, fileURLToPath(import.meta.url)));
    const ran = spawnSync("runuser", ["-u", name, "--", process.execPath, self], { stdio: "inherit", cwd: "/", env: { PATH: process.env.PATH, HOME: `/home/${name}`, ...(process.env.BENCH_ROUNDS && { BENCH_ROUNDS: process.env.BENCH_ROUNDS }) } });
    if (ran.status !== 0) process.exitCode = 1;
  } finally {
    if (mountPoint) {
      spawnSync("umount", ["--lazy", mountPoint]);
      rmdirSync(mountPoint);
    }
    spawnSync("userdel", ["--remove", "--force", name]);
  }
}

async function measure() {
  const { JobPool } = await import("../dist/index.js");
  const work = mkdtempSync(join(tmpdir(), "jobworker-bench-rootless-"));
  const pool = await JobPool.open({ dataDir: join(work, "data") });
  const timed = async (total, startOne) => {
    const start = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < total) await startOne();
    }));
    return performance.now() - start;
  };
  try {
    console.log(`as uid ${process.getuid()}: ${pool.isolation().summary}`);
    if (pool.confinement().mode !== "rootless") {
      console.log(`jobs are not confined here (${pool.confinement().summary}): nothing to compare`);
      return;
    }
    const bwrap = which("bwrap");
    if (!bwrap) console.log("bubblewrap (bwrap) is not installed: the comparison with it is skipped (Debian/Ubuntu: apt-get install bubblewrap)");
    accessSync("/bin/true", constants.X_OK);
    const job = () => pool.wait(pool.create({ cmd: "/bin/true" }));
    await timed(2 * CONCURRENCY, job);
    const ms = { raw: 0, bwrap: 0, pool: 0 };
    const per = Math.ceil(JOBS / ROUNDS);
    const r = (t) => (per / (t / 1000)).toFixed(0);
    const perRound = [];
    const began = performance.now();
    let rounds = 0;
    while (rounds < ROUNDS && (rounds === 0 || performance.now() - began < BUDGET_MS)) {
      const raw = (await spawnBatch(per, CONCURRENCY, "/bin/true")).ms;
      const confined = await timed(per, job);
      const bw = bwrap ? (await spawnBatch(per, CONCURRENCY, bwrap, BWRAP_ARGS)).ms : 0;
      ms.raw += raw;
      ms.pool += confined;
      ms.bwrap += bw;
      perRound.push(`${r(raw)}/${bwrap ? r(bw) : "-"}/${r(confined)}`);
      rounds++;
    }
    const jobs = per * rounds;
    const rate = (t) => (jobs / (t / 1000)).toFixed(0);
    console.log(`${jobs} /bin/true jobs each at concurrency ${CONCURRENCY}, ${rounds} alternated rounds, as an ordinary user: raw spawn ${rate(ms.raw)}/s${bwrap ? `, bubblewrap (user namespace) ${rate(ms.bwrap)}/s` : ""}, JobPool rootless confined ${rate(ms.pool)}/s`);
    if (bwrap) {
      const vsBwrap = ms.bwrap / ms.pool;
      console.log(`  rootless confined/bubblewrap = ${vsBwrap.toFixed(2)}x bubblewrap's rate (goal >= ${GOAL_BWRAP}) ${verdict(vsBwrap, GOAL_BWRAP)}`);
    }
    console.log(`  rootless confined/raw spawn = ${(ms.raw / ms.pool).toFixed(2)}; per round, jobs/s raw/bubblewrap/confined: ${perRound.join(", ")}`);
  } finally {
    await pool.close();
    rmSync(work, { recursive: true, force: true });
  }
}
