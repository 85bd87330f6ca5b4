// Rootless (docs/security.md, "Without root"): `jobworker serve` run by an ordinary user,
// as the README's `npm start` is, on its embedded defaults. The test makes that user
// (useradd), gives it secrets (~/.ssh, the server's PKI and data), starts the server with
// runuser and drives it with the real CLI. Every job below is an attempt to reach what
// that user owns, and must fail; ordinary work (sh, Python threads, a C build) must work.
// Root only (to make the user); where this kernel refuses unprivileged user namespaces,
// the confined suite is skipped and says so, and the unconfined side is tested anyway.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { checkoutReachableBy } from "../helpers/checkout-for-user.js";

const asRoot = process.getuid?.() === 0;
const hasTools = spawnSync("sh", ["-c", "command -v useradd && command -v userdel && command -v runuser"]).status === 0;
const skip = (!asRoot && "needs root (to make an ordinary user)") || (!hasTools && "needs useradd, userdel and runuser");

/** An ordinary user made for the test, with a secret in its home. */
interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  remove(): void;
}

/** A user (its home under /home unless `home` says where), with a supplementary group when `group` is set. */
function makeUser({ home, group }: { home?: string; group?: boolean } = {}): TestUser & { group?: number } {
  const name = `jwrl${randomBytes(3).toString("hex")}`;
  const groupName = `${name}g`;
  if (group && spawnSync("groupadd", [groupName]).status !== 0) throw new Error("groupadd failed");
  const made = spawnSync("useradd", ["--create-home", "--shell", "/bin/sh", ...(home ? ["--home-dir", home] : []), ...(group ? ["--groups", groupName] : []), name], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`useradd failed: ${made.stderr}`);
  const id = (flag: string) => Number(spawnSync("id", [flag, name], { encoding: "utf8" }).stdout.trim());
  const user = { name, uid: id("-u"), gid: id("-g"), home: home ?? `/home/${name}` };
  as(user, `mkdir -m 700 ~/.ssh && echo SSH-SECRET-KEY > ~/.ssh/id_ed25519 && chmod 600 ~/.ssh/id_ed25519`);
  const gid = group ? Number(spawnSync("getent", ["group", groupName], { encoding: "utf8" }).stdout.split(":")[2]) : undefined;
  return {
    ...user,
    ...(gid !== undefined && { group: gid }),
    remove: () => {
      spawnSync("userdel", ["--remove", "--force", name]);
      if (group) spawnSync("groupdel", [groupName]);
    },
  };
}

/** Runs a shell script as the user, synchronously (setup only). */
function as(user: { name: string; home: string }, script: string): string {
  const ran = spawnSync("runuser", ["-u", user.name, "--", "sh", "-c", script], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: user.home }, cwd: "/" });
  if (ran.status !== 0) throw new Error(`as ${user.name}: ${script}: ${ran.stderr}`);
  return ran.stdout;
}

/** `jobworker serve` as the user, on its embedded defaults but for `args`; resolves with its URL and start-up lines. */
async function serveAs(user: TestUser, cli: string, args: string[]): Promise<{ child: ChildProcess; url: string; lines: string }> {
  const child = spawn("runuser", ["-u", user.name, "--", process.execPath, cli, "serve", ...args], {
    env: { PATH: process.env.PATH, HOME: user.home },
    cwd: "/",
    stdio: ["ignore", "ignore", "pipe"],
  });
  let lines = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on("data", (chunk: Buffer) => {
      lines += chunk.toString();
      const match = /listening on (https:\/\/\S+)/.exec(lines);
      if (match) resolve(match[1]!);
    });
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${lines}`)));
  });
  return { child, url, lines };
}

/** What `serve` says and does when it refuses to start: its exit code and stderr. */
function serveRefused(user: TestUser, cli: string, args: string[]): { status: number | null; stderr: string } {
  const ran = spawnSync("runuser", ["-u", user.name, "--", process.execPath, cli, "serve", ...args], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: user.home }, cwd: "/", timeout: 60_000 });
  return { status: ran.status, stderr: ran.stderr };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  // runuser passes SIGTERM on to the server, which stops its jobs and exits.
  child.kill("SIGTERM");
  await exited;
}

/** A job through the real CLI (as root, with the user's client certificate): its exit code and output. */
function runJob(cli: string, env: NodeJS.ProcessEnv, script: string, identity = "default"): { code: number | null; stdout: string; stderr: string } {
  const clients = join(env.JOBWORKER_HOME!, "pki", "clients");
  const as = identity === "default" ? [] : ["--cert", join(clients, `${identity}.pem`), "--key", join(clients, `${identity}.key`)];
  const ran = spawnSync(process.execPath, [cli, "run", ...as, "--", "sh", "-c", script], { encoding: "utf8", env, timeout: 120_000 });
  return { code: ran.status, stdout: ran.stdout, stderr: ran.stderr };
}

describe("rootless: a server run by an ordinary user", { skip }, () => {
  let user: TestUser & { group?: number };
  /** The user's runtime directory, as systemd-logind makes it: its session's sockets. */
  let runtimeDir: string;
  /** A daemon's socket that hands out root to whoever connects (as Docker's does), if none is there. */
  let daemon: Server | undefined;
  let madeRunUser = false;
  let checkout: { root: string; release: () => void };
  let cli: string;
  let server: Awaited<ReturnType<typeof serveAs>>;
  let env: NodeJS.ProcessEnv;
  let confined = false;
  /** A world-writable directory on the host, outside every path a job may write. */
  let worldWritable: string;

  before(async () => {
    user = makeUser({ group: true });
    runtimeDir = `/run/user/${user.uid}`;
    if (!existsSync("/run/user")) {
      mkdirSync("/run/user");
      chmodSync("/run/user", 0o755);
      madeRunUser = true;
    }
    mkdirSync(runtimeDir, { mode: 0o700 });
    chownSync(runtimeDir, user.uid, user.gid);
    as(user, `echo SESSION-SECRET > ${runtimeDir}/secret`);
    if (!existsSync("/run/docker.sock")) {
      daemon = createServer((socket) => socket.end("ROOT-FOR-YOU\n"));
      await new Promise<void>((resolve) => daemon!.listen("/run/docker.sock", resolve));
      chmodSync("/run/docker.sock", 0o666);
    }
    checkout = checkoutReachableBy(user.uid, user.gid);
    cli = join(checkout.root, "dist", "cli", "main.js");
    worldWritable = mkdtempSync("/srv/jobworker-rootless-");
    chmodSync(worldWritable, 0o1777);
    server = await serveAs(user, cli, ["--listen", "127.0.0.1:0"]);
    confined = /confinement: every job as the server's user/.test(server.lines);
    const jobworkerHome = join(user.home, ".jobworker");
    as(user, `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} certs issue bob --home ${JSON.stringify(jobworkerHome)} >/dev/null`);
    env = { PATH: process.env.PATH, JOBWORKER_HOME: jobworkerHome, JOBWORKER_SERVER: server.url.replace("https://", "") };
  });
  after(async () => {
    if (server) await stopServer(server.child);
    rmSync(worldWritable, { recursive: true, force: true });
    if (daemon) await new Promise((resolve) => daemon!.close(resolve));
    if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
    if (madeRunUser) rmSync("/run/user", { recursive: true, force: true });
    checkout?.release();
    user?.remove();
  });

  it("says at start-up what jobs get: a user namespace and confinement, or that they run as you, unconfined", (t) => {
    assert.match(server.lines, /jobworker: isolation: /);
    assert.match(server.lines, /jobworker: confinement: /);
    if (!confined) {
      assert.match(server.lines, /confinement: none \(not root, and no user namespace for jobs\): jobs run as you, unconfined/);
      t.skip("this kernel gives unprivileged users no user namespace: the confined checks below are skipped");
      return;
    }
    assert.match(server.lines, /isolation: each job in its own user \(mapping only the server's uid\), PID, mount/);
  });

  it("a job cannot read the user's ~/.ssh, the server's PKI or its data", (t) => {
    if (!confined) return t.skip("not confined here");
    const home = user.home;
    const job = runJob(cli, env, `
      cat ${home}/.ssh/id_ed25519 && echo READ-SSH
      cat ${home}/.jobworker/pki/ca.key && echo READ-CA-KEY
      ls ${home}/.jobworker/data && echo LISTED-DATA
      cat ${home}/.jobworker/data/jobs.db >/dev/null && echo READ-DB
      ls /home; echo end`);
    assert.equal(job.code, 0, job.stderr);
    for (const leak of ["SSH-SECRET-KEY", "READ-SSH", "PRIVATE KEY", "READ-CA-KEY", "LISTED-DATA", "READ-DB"]) assert.doesNotMatch(job.stdout, new RegExp(leak));
    // /home holds only the job's own home.
    assert.match(job.stdout, /^job\nend\n$/m);
  });

  it("cannot reach the user's session (its runtime directory) nor a daemon's socket that hands out root", (t) => {
    if (!confined) return t.skip("not confined here");
    const job = runJob(cli, env, `
      cat ${runtimeDir}/secret 2>/dev/null && echo READ-SESSION
      ls -A ${runtimeDir} 2>/dev/null | grep -q . && echo LISTED-SESSION
      test -S /run/docker.sock && echo DAEMON-SOCKET
      echo end`);
    assert.equal(job.code, 0, job.stderr);
    assert.equal(job.stdout, "end\n");
  });

  it("says that the user's supplementary groups stay with every job", () => {
    assert.match(server.lines, new RegExp(`your supplementary groups \\(${user.group}\\) stay with every job`));
  });

  it("cannot write the host outside its $HOME, /tmp and /var/tmp", (t) => {
    if (!confined) return t.skip("not confined here");
    const job = runJob(cli, env, `
      for path in /etc/jw-x /usr/jw-x ${user.home}/jw-x ${worldWritable}/jw-x /jw-x; do
        touch "$path" 2>/dev/null && echo "WROTE $path"
      done
      touch "$HOME/ok" /tmp/ok /var/tmp/ok && echo own-ok`);
    assert.equal(job.code, 0, job.stderr);
    assert.doesNotMatch(job.stdout, /WROTE/);
    assert.match(job.stdout, /own-ok/);
    assert.equal(existsSync(join(worldWritable, "jw-x")), false);
    assert.equal(existsSync(join(user.home, "jw-x")), false);
  });

  it("sees only its own processes, and has no capability, no_new_privs and a seccomp filter", (t) => {
    if (!confined) return t.skip("not confined here");
    const job = runJob(cli, env, `ls /proc | grep -c '^[0-9]'; grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status; id -u`);
    assert.equal(job.code, 0, job.stderr);
    const [count, ...rest] = job.stdout.trim().split("\n");
    // init, sh, ls and grep at most: no process of the host or of other jobs.
    assert.ok(Number(count) <= 5, `saw ${count} processes`);
    const fields = Object.fromEntries(rest.slice(0, -1).map((line) => line.split(/:\s+/) as [string, string]));
    for (const cap of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) assert.equal(fields[cap], "0000000000000000", cap);
    assert.equal(fields.NoNewPrivs, "1");
    assert.equal(fields.Seccomp, "2");
    // The server's own uid: one uid cannot be split without root.
    assert.equal(rest.at(-1), String(user.uid));
  });

  it("cannot unmount a mask or its /tmp, nor make a user namespace", (t) => {
    if (!confined) return t.skip("not confined here");
    const job = runJob(cli, env, `
      umount /home 2>/dev/null && echo UNMOUNTED-HOME
      umount -l /home 2>/dev/null && echo UNMOUNTED-HOME-LAZY
      umount /tmp 2>/dev/null && echo UNMOUNTED-TMP
      unshare -U true 2>/dev/null && echo USERNS
      unshare -Ur true 2>/dev/null && echo USERNS-ROOT
      ls /home; echo end`);
    assert.equal(job.code, 0, job.stderr);
    assert.doesNotMatch(job.stdout, /UNMOUNTED|USERNS/);
    assert.match(job.stdout, /^job\nend\n$/m);
  });

  it("keeps each identity's $HOME across its jobs, and out of another identity's sight", (t) => {
    if (!confined) return t.skip("not confined here");
    const first = runJob(cli, env, `echo kept > "$HOME/mark"; echo "$HOME"`);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), "/home/job");
    const second = runJob(cli, env, `cat "$HOME/mark"`);
    assert.equal(second.stdout.trim(), "kept");
    const bob = runJob(cli, env, `cat "$HOME/mark" 2>/dev/null || echo none; ls -A "$HOME"`, "bob");
    assert.equal(bob.code, 0, bob.stderr);
    assert.equal(bob.stdout.trim(), "none");
  });

  it("runs ordinary work: sh, Python with threads, a C build", (t) => {
    if (!confined) return t.skip("not confined here");
    const have = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
    const sh = runJob(cli, env, `for i in 1 2 3; do echo $i; done | wc -l`);
    assert.equal(sh.stdout.trim(), "3");
    if (have("python3")) {
      const py = runJob(cli, env, `python3 -c 'import threading; r=[]; ts=[threading.Thread(target=r.append, args=(i,)) for i in range(8)]; [x.start() for x in ts]; [x.join() for x in ts]; print(sorted(r))'`);
      assert.equal(py.stdout.trim(), "[0, 1, 2, 3, 4, 5, 6, 7]", py.stderr);
    }
    if (have("cc")) {
      const cc = runJob(cli, env, `cd "$HOME" && printf '#include <stdio.h>\\nint main(void){puts("built");return 0;}\\n' > a.c && cc -o a a.c && ./a`);
      assert.equal(cc.stdout.trim(), "built", cc.stderr);
    }
  });

  it("gives network none (only lo) and a stdin, confined the same", (t) => {
    if (!confined) return t.skip("not confined here");
    const ran = spawnSync(process.execPath, [cli, "run", "--network", "none", "-i", "--", "sh", "-c", "ls /sys/class/net; grep -E '^(CapEff|Seccomp):' /proc/self/status; cat"], {
      encoding: "utf8",
      env,
      input: "from-stdin\n",
      timeout: 120_000,
    });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout, "lo\nCapEff:\t0000000000000000\nSeccomp:\t2\nfrom-stdin\n");
  });

  it("records what applied in the job's isolation", (t) => {
    if (!confined) return t.skip("not confined here");
    const ran = spawnSync(process.execPath, [cli, "start", "--json", "--", "true"], { encoding: "utf8", env });
    assert.equal(ran.status, 0, ran.stderr);
    const { id } = JSON.parse(ran.stdout);
    const listed = spawnSync(process.execPath, [cli, "list", "--json"], { encoding: "utf8", env });
    assert.equal(listed.status, 0, listed.stderr);
    const parsed = JSON.parse(listed.stdout);
    const isolation = (Array.isArray(parsed) ? parsed : parsed.jobs).find((job: { id: string }) => job.id === id).isolation;
    assert.deepEqual(isolation.namespaces, ["user", "pid", "mount", "ipc", "uts"]);
    assert.equal(isolation.uid, user.uid);
    assert.equal(isolation.confined, true);
    assert.equal(isolation.read_only_host, true);
    assert.equal(isolation.home, "/home/job");
  });
});

describe("rootless: a user whose home is not under /home (a CI user's)", { skip }, () => {
  let user: TestUser;
  let checkout: { root: string; release: () => void };
  let server: Awaited<ReturnType<typeof serveAs>>;
  let env: NodeJS.ProcessEnv;
  let cli: string;

  before(async () => {
    user = makeUser({ home: `/var/lib/jwrl-${randomBytes(3).toString("hex")}` });
    checkout = checkoutReachableBy(user.uid, user.gid);
    cli = join(checkout.root, "dist", "cli", "main.js");
    server = await serveAs(user, cli, ["--listen", "127.0.0.1:0"]);
    env = { PATH: process.env.PATH, JOBWORKER_HOME: join(user.home, ".jobworker"), JOBWORKER_SERVER: server.url.replace("https://", "") };
  });
  after(async () => {
    if (server) await stopServer(server.child);
    checkout?.release();
    user?.remove();
  });

  it("masks that home too: its ~/.ssh and the server's PKI are out of reach", (t) => {
    if (!/confinement: every job as the server's user/.test(server.lines)) return t.skip("not confined here");
    const job = runJob(cli, env, `cat ${user.home}/.ssh/id_ed25519 2>/dev/null; cat ${user.home}/.jobworker/pki/ca.key 2>/dev/null; ls -A ${user.home}; echo end`);
    assert.equal(job.code, 0, job.stderr);
    assert.equal(job.stdout, "end\n");
  });
});

describe("rootless, unconfined (--no-isolation): jobs run as you, and serve keeps to loopback", { skip }, () => {
  let user: TestUser;
  let checkout: { root: string; release: () => void };
  let cli: string;

  before(() => {
    user = makeUser();
    checkout = checkoutReachableBy(user.uid, user.gid);
    cli = join(checkout.root, "dist", "cli", "main.js");
  });
  after(() => {
    checkout?.release();
    user?.remove();
  });

  it("says in one line that jobs run as you, unconfined", async () => {
    const server = await serveAs(user, cli, ["--listen", "127.0.0.1:0", "--no-isolation"]);
    await stopServer(server.child);
    assert.match(server.lines, /^jobworker: confinement: none \(not root, and no user namespace for jobs\): jobs run as you, unconfined, with every right of your user$/m);
  });

  it("refuses to listen beyond loopback, naming --accept-unconfined, and changes nothing", () => {
    const refused = serveRefused(user, cli, ["--listen", "0.0.0.0:0", "--no-isolation", "--data-dir", join(user.home, "refused-data")]);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /refusing to listen on 0\.0\.0\.0: jobs would run as you, unconfined/);
    assert.match(refused.stderr, /--accept-unconfined/);
    assert.doesNotMatch(refused.stderr, /listening on/);
  });

  it("listens beyond loopback with --accept-unconfined", async () => {
    const server = await serveAs(user, cli, ["--listen", "0.0.0.0:0", "--no-isolation", "--accept-unconfined"]);
    await stopServer(server.child);
    assert.match(server.url, /^https:\/\/0\.0\.0\.0:\d+$/);
  });
});
