// deploy/jobworker.service: systemd-analyze verify finds nothing to say about it, and the
// real built `jobworker serve` runs with its ExecStart= flags under its capability
// bounding set, and behaves as the unit's stop, reload and run-as settings assume.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { accessSync, chmodSync, chownSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { connect } from "node:tls";
import { test } from "node:test";
import { JOB_NAMESPACES } from "../../src/engine/isolation/host.js";
import { pkiPaths } from "../../src/pki/paths.js";
import { CLI, cli } from "../e2e/fixtures.js";
import { tempDir } from "../helpers/temp-dir.js";
import { parseCommand, readUnitFile, single } from "./unit-file.js";

const UNIT_PATH = join(import.meta.dirname, "../../deploy/jobworker.service");
const unit = readUnitFile(UNIT_PATH);
/** Where docs/deploy.md installs the binary (`npm install -g`). */
const INSTALLED_BINARY = "/opt/jobworker/bin/jobworker";
/** The product's home for root: `serve` run by root with no flags uses these files. */
const ROOT_HOME = "/root/.jobworker";
const LOGS_DIR = "/var/log/jobworker";

const execStart = parseCommand(single(unit, "Service", "ExecStart"));
const serveFlags = execStart.argv.slice(2);

/** The value following `flag` in ExecStart=. */
function flagValue(flag: string): string | undefined {
  const i = serveFlags.indexOf(flag);
  return i < 0 ? undefined : serveFlags[i + 1];
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** systemd's "30s", "1min 30s", "90" (seconds) → milliseconds; only the units we might use. */
function timespanMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, "": 1000, min: 60_000, m: 60_000 };
  let total = 0;
  for (const part of text.trim().split(/\s+/)) {
    const match = /^(\d+)([a-z]*)$/.exec(part);
    if (!match || units[match[2]!] === undefined) throw new Error(`timespan this test cannot read: ${text}`);
    total += Number(match[1]) * units[match[2]!]!;
  }
  return total;
}

test("systemd-analyze verify accepts the unit and prints no warning about it", async (t) => {
  const analyze = onPath("systemd-analyze");
  if (!analyze) {
    t.skip("systemd-analyze is not installed (Debian: apt-get install systemd, as .ci/run does)");
    return;
  }
  // verify checks that ExecStart= names an executable: this machine has the built binary,
  // not an installed one, so the copy names dist/cli/main.js; everything else is as shipped.
  const dir = tempDir("jobworker-unit-");
  try {
    const text = readFileSync(UNIT_PATH, "utf8");
    assert.ok(text.includes(`ExecStart=${INSTALLED_BINARY} serve`), "ExecStart= runs the installed binary");
    const copy = join(dir.path, "jobworker.service");
    writeFileSync(copy, text.replace(`ExecStart=${INSTALLED_BINARY} `, `ExecStart=${CLI} `));
    const result = spawnSync(analyze, ["verify", copy], { encoding: "utf8" });
    const lines = `${result.stdout}${result.stderr}`.split("\n").filter((l) => l.trim() !== "");
    // Every message of verify about a unit starts with its file path or name.
    const ours = lines.filter((l) => l.includes("jobworker.service"));
    assert.deepEqual(ours, [], `systemd-analyze verify complains about the unit:\n${lines.join("\n")}`);
    assert.equal(result.status, 0, lines.join("\n"));
    for (const line of lines) t.diagnostic(`about another unit: ${line}`);
  } finally {
    dir.remove();
  }
});

test("the unit runs serve as root on the product's root defaults, with a stop timeout above the grace period", () => {
  assert.equal(execStart.argv[0], INSTALLED_BINARY);
  assert.equal(execStart.argv[1], "serve");
  const service = unit.get("Service")!;
  assert.equal(service.get("User"), undefined, "runs as root: it manages cgroups and namespaces");
  const pki = pkiPaths(join(ROOT_HOME, "pki"));
  assert.deepEqual(
    [flagValue("--data-dir"), flagValue("--ca"), flagValue("--cert"), flagValue("--key"), flagValue("--crl")],
    [join(ROOT_HOME, "data"), pki.caCert, pki.serverCert, pki.serverKey, pki.crl],
  );
  assert.equal(single(unit, "Service", "Delegate"), "yes");
  assert.equal(single(unit, "Service", "KillMode"), "mixed");
  assert.equal(single(unit, "Service", "Restart"), "on-failure");
  assert.deepEqual(parseCommand(single(unit, "Service", "ExecReload")).argv, ["/bin/kill", "-HUP", "$MAINPID"]);
  const grace = Number(flagValue("--stop-grace-ms"));
  assert.ok(Number.isInteger(grace), "ExecStart= states --stop-grace-ms, so that TimeoutStopSec= can be checked against it");
  assert.ok(timespanMs(single(unit, "Service", "TimeoutStopSec")) > grace + 10_000, "TimeoutStopSec= leaves room after the grace period");
  // Not NoNewPrivileges=: the launcher sets no_new_privs on each job itself; on the server
  // it would change nothing the bounding set does not, and keep nothing out.
  // The namespaces a job is given, by systemd's names, and network for --network none.
  const systemdName: Record<string, string> = { pid: "pid", mount: "mnt", ipc: "ipc", uts: "uts" };
  const allowed = single(unit, "Service", "RestrictNamespaces").split(/\s+/);
  for (const ns of [...JOB_NAMESPACES.map((n) => systemdName[n]!), "net"]) assert.ok(allowed.includes(ns), `RestrictNamespaces= allows ${ns}`);
  assert.ok(!allowed.includes("user") && !allowed.includes("cgroup"));
});

/** Lines of a child's stderr, with a wait for a line to appear (or the child to exit). */
class StderrLines {
  private text = "";
  private readonly waiters = new Set<() => void>();
  constructor(child: ChildProcess) {
    child.stderr!.on("data", (chunk: Buffer) => {
      this.text += chunk.toString();
      for (const wake of this.waiters) wake();
    });
    child.on("exit", () => {
      for (const wake of this.waiters) wake();
    });
  }
  get all(): string {
    return this.text;
  }
  /** Resolves with the first match of `pattern`; rejects when the child exits first or at the deadline. */
  wait(pattern: RegExp, child: ChildProcess, deadlineMs = 30_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.text);
        if (match) finish(() => resolve(match));
        else if (child.exitCode !== null || child.signalCode !== null) finish(() => reject(new Error(`serve exited before ${pattern}: ${this.text}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${pattern} within ${deadlineMs} ms: ${this.text}`))), deadlineMs);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        then();
      };
      this.waiters.add(check);
      check();
    });
  }
}

/** `output -f ID` until the job ends; `onFirst` runs once its output contains `marker`. */
function followUntil(id: string, env: NodeJS.ProcessEnv, marker: string, onFirst: () => void) {
  let fired = false;
  return cli(["output", "-f", id], env, (child, stdout) => {
    child.stdout!.on("data", () => {
      if (!fired && stdout().toString().includes(marker)) {
        fired = true;
        onFirst();
      }
    });
  });
}

test("jobworker serve accepts the unit's ExecStart= flags and works under its capability bounding set", { timeout: 120_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip("needs root: the unit runs serve as root, switching jobs to the --run-as user");
    return;
  }
  const setpriv = onPath("setpriv");
  if (!setpriv) {
    t.skip("setpriv (util-linux) is not installed: it applies the unit's CapabilityBoundingSet= here");
    return;
  }
  const dir = tempDir("jobworker-unit-serve-");
  const home = join(dir.path, "home");
  const logs = join(dir.path, "logs");
  let server: ChildProcess | undefined;
  try {
    // The unit's absolute paths, moved into the temp directory; an unknown one fails the test.
    const relocate = (arg: string): string => {
      if (arg.startsWith(`${ROOT_HOME}/`)) return join(home, arg.slice(ROOT_HOME.length + 1));
      if (arg.startsWith(`${LOGS_DIR}/`)) return join(logs, arg.slice(LOGS_DIR.length + 1));
      if (arg.startsWith("/")) throw new Error(`ExecStart= names ${arg}: teach this test where to put it`);
      return arg;
    };
    const flags = serveFlags.map((arg, i) => (serveFlags[i - 1] === "--listen" ? "127.0.0.1:0" : relocate(arg)));
    // The host's part of an install (docs/deploy.md): the PKI; systemd's part: the logs directory
    // (LogsDirectory=), ExecStartPre= (the data directory).
    mkdirSync(home, { mode: 0o700 });
    const init = await cli(["certs", "init", "--dir", join(home, "pki"), "--host", "127.0.0.1"], { PATH: process.env.PATH });
    assert.equal(init.code, 0, init.stderr);
    mkdirSync(logs, { mode: Number.parseInt(single(unit, "Service", "LogsDirectoryMode"), 8) });
    const pre = parseCommand(single(unit, "Service", "ExecStartPre"));
    const preRun = spawnSync(pre.argv[0]!, pre.argv.slice(1).map(relocate), { encoding: "utf8" });
    assert.equal(preRun.status, 0, preRun.stderr);

    const caps = single(unit, "Service", "CapabilityBoundingSet").split(/\s+/).map((c) => `+${c.replace(/^CAP_/, "").toLowerCase()}`);
    const started = Date.now();
    server = spawn(setpriv, ["--bounding-set", ["-all", ...caps].join(","), process.execPath, CLI, ...execStart.argv.slice(1, 2), ...flags], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    const exited = new Promise<number | null>((done) => server!.on("exit", (code) => done(code)));
    const stderr = new StderrLines(server);
    const url = (await stderr.wait(/listening on (https:\/\/\S+)/, server))[1]!;
    t.diagnostic(`serve started in ${Date.now() - started} ms`);
    const pki = pkiPaths(join(home, "pki"));
    const env = { PATH: process.env.PATH, HOME: home, JOBWORKER_HOME: home, JOBWORKER_SERVER: url, JOBWORKER_CA: pki.caCert, JOBWORKER_CERT: pki.clientCert("default"), JOBWORKER_KEY: pki.clientKey("default") };

    // SETUID, SETGID, SETPCAP, CHOWN, FOWNER: the identity's job runs as its own uid, from
    // the default range, with its home made and owned by it, and no capability left.
    const id = await cli(["run", "--", "sh", "-c", 'id -u; grep CapBnd /proc/self/status; test -w "$HOME" && echo home'], env);
    const [uidLine, capBnd, homeLine] = id.stdout.toString().split("\n");
    const runAs = { uid: Number(uidLine), gid: Number(uidLine) };
    assert.ok(runAs.uid >= 700000000 && runAs.uid <= 700999999, id.stdout.toString() + id.stderr);
    assert.match(capBnd!, /0000000000000000/);
    assert.equal(homeLine, "home");

    // SYS_ADMIN, NET_ADMIN: a job gets its namespaces, network none included, wherever the host allows it.
    if (/isolation: each job in its own PID/.test(stderr.all)) {
      assert.match(stderr.all, /isolation: each job in its own PID, mount/);
      const net = await cli(["run", "--network", "none", "--", "cat", "/proc/net/dev"], env);
      assert.equal(net.code, 0, net.stderr);
      const interfaces = net.stdout.toString().split("\n").slice(2).filter(Boolean).map((l) => l.trim().split(":")[0]);
      assert.deepEqual(interfaces, ["lo"]);
    } else {
      t.diagnostic(`this host cannot isolate jobs even with every capability: ${stderr.all}`);
    }

    // DAC_OVERRIDE: the server looks up a job's command and directory with root's eyes, so
    // the identity's own 0700 directory and 0700 script must not stop it.
    const shared = process.getuid?.() === 0 ? "/var/lib" : undefined;
    if (shared) {
      const base = mkdtempSync(join(shared, "jobworker-unit-"));
      try {
        chmodSync(base, 0o755);
        const own = join(base, "own");
        mkdirSync(own, { mode: 0o700 });
        writeFileSync(join(own, "hello.sh"), "#!/bin/sh\necho hello from $(id -u)\n", { mode: 0o700 });
        chownSync(own, runAs.uid, runAs.gid);
        chownSync(join(own, "hello.sh"), runAs.uid, runAs.gid);
        const hello = await cli(["run", "--cwd", own, "--", "./hello.sh"], env);
        assert.equal(hello.stdout.toString(), `hello from ${runAs.uid}\n`, hello.stderr);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    } else {
      t.diagnostic("not root: the identity's 0700 directory is not tried");
    }

    // KILL: stop reaches a job of another user with SIGTERM, which its trap handles.
    const trapped = await cli(["start", "--", "sh", "-c", 'trap "echo stopped; exit 3" TERM; echo ready; while :; do sleep 1; done'], env);
    const trappedId = trapped.stdout.toString().trim();
    const followed = await followUntil(trappedId, env, "ready", () => void cli(["stop", trappedId], env));
    assert.equal(followed.stdout.toString(), "ready\nstopped\n");
    const status = await cli(["status", "--json", trappedId], env);
    assert.equal(JSON.parse(status.stdout.toString()).exit_code, 3, status.stdout.toString());

    // ExecReload=: a renewed server certificate is served after the reload.
    const renewed = await cli(["certs", "server", "--force", "--dir", pki.dir, "--host", "127.0.0.1"], { PATH: process.env.PATH });
    assert.equal(renewed.code, 0, renewed.stderr);
    const reload = parseCommand(single(unit, "Service", "ExecReload")).argv.map((a) => (a === "$MAINPID" ? String(server!.pid) : a));
    assert.equal(spawnSync(reload[0]!, reload.slice(1)).status, 0);
    await stderr.wait(/reloaded the TLS certificates/, server);
    const newSerial = new X509Certificate(readFileSync(pki.serverCert)).serialNumber;
    assert.equal(await servedSerial(url, pki), newSerial);
    assert.equal(statSync(relocate(flagValue("--audit-log")!)).mode & 0o777, 0o600);

    // KillMode=mixed: SIGTERM to serve alone; it stops a job that ignores SIGTERM (SIGKILL
    // after the grace period) and exits 0, well within TimeoutStopSec=.
    const stubborn = await cli(["start", "--", "sh", "-c", 'trap "" TERM; echo ready; while :; do sleep 1; done'], env);
    const stubbornId = stubborn.stdout.toString().trim();
    let stopAsked = 0;
    const follower = followUntil(stubbornId, env, "ready", () => {
      stopAsked = Date.now();
      server!.kill("SIGTERM");
    });
    const code = await exited;
    const tookMs = Date.now() - stopAsked;
    await follower;
    assert.equal(code, 0, stderr.all);
    assert.match(stderr.all, /SIGTERM: stopping/);
    assert.ok(tookMs >= Number(flagValue("--stop-grace-ms")), `stopped after ${tookMs} ms: the job was given its grace period`);
    assert.ok(tookMs < timespanMs(single(unit, "Service", "TimeoutStopSec")), `stopping took ${tookMs} ms`);
    t.diagnostic(`stop with a job ignoring SIGTERM took ${tookMs} ms`);
  } finally {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill("SIGKILL");
      await new Promise((done) => server!.once("exit", done));
    }
    dir.remove();
  }
});

/** The serial number of the certificate the server presents now, to a client it accepts. */
function servedSerial(url: string, pki: ReturnType<typeof pkiPaths>): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: hostname,
      port: Number(port),
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.clientCert("default")),
      key: readFileSync(pki.clientKey("default")),
      minVersion: "TLSv1.3",
    });
    socket.once("secureConnect", () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once("error", reject);
  });
}
