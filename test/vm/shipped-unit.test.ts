// On a cgroup-v2-only host, the shipped deploy/jobworker.service as written (with systemd
// as PID 1), or serve started the same way by a bare init (no systemd): every limit is
// enforced in the job's own cgroup, stop kills a tree that left its process group, and a
// crash restart reaps what the crashed server left. It installs the unit, /opt/jobworker
// and /root/.jobworker for real, so it runs only in the throw-away VM of `npm run test:vm`
// (JOBWORKER_VM=1, set by scripts/vm/guest-run.sh).
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { initPki } from "../../src/pki/index.js";
import { until } from "../../src/engine/back-off.js";
import { isAlive } from "../helpers/processes.js";
import { CLI, cli } from "../e2e/fixtures.js";
import { parseCommand, readUnitFile, single } from "../deploy/unit-file.js";

const UNIT = resolve(fileURLToPath(new URL("../../deploy/jobworker.service", import.meta.url)));
const HOME = "/root/.jobworker";
const MIB = 1024 * 1024;
const withSystemd = existsSync("/run/systemd/system");
const v2Only = existsSync("/sys/fs/cgroup/cgroup.controllers") && !readFileSync("/proc/self/mountinfo", "utf8").includes(" - cgroup ");
const skip =
  process.env.JOBWORKER_VM !== "1" ? "only in the VM of npm run test:vm (it installs the unit and /root/.jobworker)" : !v2Only && "needs a cgroup-v2-only host";

const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: "/root", JOBWORKER_HOME: HOME, JOBWORKER_SERVER: "https://127.0.0.1:8443" };

/** The server: the unit under systemd, else serve run by us with the unit's own command line. */
interface Server {
  mainPid(): number;
  /** What serve wrote (the journal under systemd). */
  log(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

function systemctl(...args: string[]): string {
  return execFileSync("systemctl", args, { encoding: "utf8" }).trim();
}

function unitServer(): Server {
  systemctl("daemon-reload");
  const started = spawnSync("systemctl", ["start", "jobworker"], { encoding: "utf8" });
  const journal = () => execFileSync("journalctl", ["-u", "jobworker", "-o", "cat", "--no-pager"], { encoding: "utf8" });
  assert.equal(started.status, 0, `systemctl start jobworker: ${started.stderr}\n${journal()}`);
  return {
    mainPid: () => Number(systemctl("show", "-p", "MainPID", "--value", "jobworker")),
    log: journal,
    async kill9() {
      const pid = this.mainPid();
      process.kill(pid, "SIGKILL");
      // Restart=on-failure, RestartSec=5s: a new main process.
      assert.ok(await until(() => { const now = this.mainPid(); return now !== 0 && now !== pid; }, 60_000), "systemd restarted the unit");
    },
    async stop() {
      systemctl("stop", "jobworker");
      assert.equal(systemctl("show", "-p", "Result", "--value", "jobworker"), "success");
    },
  };
}

function bareServer(): Server {
  const unit = readUnitFile(UNIT);
  const [pre] = unit.get("Service")!.get("ExecStartPre")!.map(parseCommand);
  execFileSync(pre!.argv[0]!, pre!.argv.slice(1));
  mkdirSync("/var/log/jobworker", { recursive: true, mode: 0o700 }); // LogsDirectory=
  const { argv } = parseCommand(single(unit, "Service", "ExecStart"));
  let output = "";
  let child: ChildProcess;
  // As a container runtime starts its main process: in a cgroup of its own (which, once
  // the server enabled controllers in it, takes processes only in a leaf: a restart goes
  // straight there, as systemd's next start goes into a new cgroup).
  const cgroup = "/sys/fs/cgroup/jobworker-vm-container";
  mkdirSync(cgroup, { recursive: true });
  const enter = `echo $$ > ${cgroup}/cgroup.procs 2>/dev/null || echo $$ > ${cgroup}/supervisor/cgroup.procs || exit 1; exec "$@"`;
  const start = () => {
    child = spawn("sh", ["-c", enter, "sh", ...argv], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH } });
    for (const stream of [child.stdout!, child.stderr!]) stream.on("data", (c: Buffer) => (output += c.toString()));
  };
  start();
  return {
    mainPid: () => child.pid!,
    log: () => output,
    async kill9() {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGKILL");
      await exited;
      start();
    },
    async stop() {
      const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
    },
  };
}

/** Waits until the server answers a client. */
async function answering(): Promise<void> {
  let last = "";
  const ok = await until(async () => {
    const r = await cli(["list"], env);
    last = r.stderr;
    return r.code === 0;
  }, 120_000);
  assert.ok(ok, `the server answers: ${last}`);
}

async function start(args: string[]): Promise<string> {
  const r = await cli(["start", ...args], env);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.toString().trim();
}

async function statusOf(id: string): Promise<Record<string, unknown>> {
  const r = await cli(["status", "--json", id], env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.toString());
}

/** A job's cgroup directory, wherever the server put it (`…/jobworker/<pool>/[client-…/]<id>`). */
function cgroupOf(id: string): string | undefined {
  const search = (dir: string, depth: number): string | undefined => {
    if (depth > 8) return undefined;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return undefined;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (e.name === id) return join(dir, e.name);
      const found = search(join(dir, e.name), depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  return search("/sys/fs/cgroup", 0);
}

function read(dir: string, file: string): string {
  return readFileSync(join(dir, file), "utf8").trim();
}

function procs(dir: string): number[] {
  try {
    return read(dir, "cgroup.procs").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function statOf(pid: number): { comm: string; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    return { comm, pgrp: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) };
  } catch {
    return undefined;
  }
}

/** Starts `sh` with a `setsid sleep` escapee and waits until both sleeps are in its cgroup, in two process groups. */
async function treeWithEscapee(): Promise<{ id: string; dir: string; pids: number[] }> {
  const id = await start(["--", "sh", "-c", "setsid sleep 1000 & exec sleep 1000"]);
  let dir: string | undefined;
  const ok = await until(() => {
    dir = cgroupOf(id);
    if (!dir) return false;
    const sleeps = procs(dir).map(statOf).filter((s) => s?.comm === "sleep");
    return sleeps.length === 2 && sleeps[0]!.pgrp !== sleeps[1]!.pgrp;
  }, 60_000);
  assert.ok(ok, "the job runs two sleeps in two process groups, in its cgroup");
  return { id, dir: dir!, pids: procs(dir!) };
}

describe(`the shipped unit on a cgroup-v2-only host (${withSystemd ? "systemd as PID 1" : "no systemd: serve run by the test"})`, { skip }, () => {
  let server: Server;
  before(async () => {
    await initPki({ dir: join(HOME, "pki"), clients: ["default"] });
    // /opt/jobworker/bin/jobworker, as the package installs it: here, the checkout's build.
    mkdirSync("/opt/jobworker/bin", { recursive: true });
    writeFileSync("/opt/jobworker/bin/jobworker", `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`);
    chmodSync("/opt/jobworker/bin/jobworker", 0o755);
    if (withSystemd) writeFileSync("/etc/systemd/system/jobworker.service", readFileSync(UNIT));
    server = withSystemd ? unitServer() : bareServer();
    await answering();
  });
  after(async () => {
    await server?.stop();
  });

  it("runs in a leaf of its cgroup and says every limit is enforced", () => {
    const own = readFileSync(`/proc/${server.mainPid()}/cgroup`, "utf8").trim();
    assert.match(own, /^0::.*\/supervisor$/, "it moved out of the unit's (or the container's) cgroup");
    const log = server.log();
    assert.doesNotMatch(log, /cannot enforce|cannot be delegated/);
    assert.match(log, /limits enforced: memory \(v2\), cpus \(v2\), pids \(v2\), io read \(v2 on \d+:\d+\), io write \(v2 on \d+:\d+\)/);
  });

  it("systemctl reload works with controllers enabled below the unit's cgroup", { skip: !withSystemd && "no systemd" }, async () => {
    // ExecReload= is a process of the unit: systemd puts it in a .control cgroup, since the
    // unit's own cgroup may hold none now.
    systemctl("reload", "jobworker");
    assert.ok(await until(() => /reloaded the TLS certificates/.test(server.log()), 30_000), server.log());
    await answering();
  });

  it("a memory hog is killed by the kernel and reported out of memory", async () => {
    // tail keeps the "line" it reads: /dev/zero has no newline.
    const r = await cli(["run", "--memory", "64M", "--", "tail", "/dev/zero"], env);
    assert.equal(r.code, 137, r.stderr);
    assert.match(r.stderr, /out of memory/);
    const list = JSON.parse((await cli(["list", "--json"], env)).stdout.toString());
    const job = list.jobs.find((j: { cmd: string }) => j.cmd === "tail");
    assert.equal(job.oom_killed, true);
    assert.equal(job.limits.memory_bytes, 64 * MIB);
  });

  it("holds a fork bomb at its pids limit, and stop kills all of it", async () => {
    const id = await start(["--pids", "20", "--cpus", "0.5", "--", "sh", "-c", "(f() { f | f & }; f); exec sleep 1000"]);
    // (A shell whose fork is refused exits: the bomb's is a subshell, so the job lives on.)
    let dir: string | undefined;
    assert.ok(await until(() => (dir = cgroupOf(id)) !== undefined && /^max [1-9]/m.test(read(dir, "pids.events")), 60_000), "forks beyond the limit are refused");
    assert.equal(read(dir!, "pids.max"), "20");
    assert.ok(Number(read(dir!, "pids.current")) <= 20);
    assert.equal((await cli(["stop", id], env)).code, 0);
    assert.equal(existsSync(dir!), false, "the job's cgroup is gone, so none of its processes is left");
  });

  it("throttles a CPU hog to its share", async () => {
    const id = await start(["--cpus", "0.2", "--", "sh", "-c", "while :; do :; done"]);
    let dir: string | undefined;
    assert.ok(await until(() => (dir = cgroupOf(id)) !== undefined, 30_000));
    assert.equal(read(dir!, "cpu.max"), "20000 100000");
    const usage = () => Number(/^usage_usec (\d+)$/m.exec(read(dir!, "cpu.stat"))![1]) / 1e6;
    const used0 = usage();
    const wall0 = performance.now();
    // Until it used 0.4 s of CPU: at 0.2 CPU about 2 s of wall time.
    assert.ok(await until(() => usage() - used0 >= 0.4, 60_000));
    const share = (usage() - used0) / ((performance.now() - wall0) / 1000);
    assert.ok(Number(/^nr_throttled (\d+)$/m.exec(read(dir!, "cpu.stat"))![1]) > 0, "the scheduler throttled it");
    assert.equal((await cli(["stop", id], env)).code, 0);
    assert.ok(share < 0.5, `a 0.2-CPU hog used ${share.toFixed(2)} of wall time`);
  });

  it("throttles direct disk writes to the io write limit", async () => {
    // The job's $HOME is under the data directory, on the disk the limit is set for.
    const r = await cli(["run", "--io-write", "1M", "--", "sh", "-c", "dd if=/dev/zero of=$HOME/dd.out bs=128k count=16 oflag=direct 2>&1 && rm $HOME/dd.out"], env);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    const list = JSON.parse((await cli(["list", "--json"], env)).stdout.toString());
    const job = list.jobs.find((j: { limits?: { io_write_bps?: number } }) => j.limits?.io_write_bps === MIB);
    const seconds = (Date.parse(job.ended_at) - Date.parse(job.created_at)) / 1000;
    assert.ok(2 / seconds < 2, `wrote 2 MiB at ${(2 / seconds).toFixed(2)} MiB/s with a 1 MiB/s limit`);
  });

  it("stop kills a tree that left its process group", async () => {
    const { id, dir, pids } = await treeWithEscapee();
    assert.equal((await cli(["stop", id], env)).code, 0);
    assert.equal(existsSync(dir), false);
    for (const pid of pids) assert.equal(isAlive(pid), false, `process ${pid} is gone`);
  });

  it("after kill -9 of the server, the restart reaps the job's processes and records it interrupted", async () => {
    const { id, dir, pids } = await treeWithEscapee();
    await server.kill9();
    await answering();
    const status = await statusOf(id);
    assert.equal(status.status, "error");
    assert.equal(status.error_code, "INTERRUPTED");
    assert.ok(await until(() => pids.every((pid) => !isAlive(pid)), 10_000), "no process of the job is left");
    assert.equal(existsSync(dir), false, "the job's cgroup was removed");
    const own = readFileSync(`/proc/${server.mainPid()}/cgroup`, "utf8").trim();
    assert.match(own, /^0::.*\/supervisor$/, "the new server moved into the leaf too");
  });
});
