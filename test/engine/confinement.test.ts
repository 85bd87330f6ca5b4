// Confinement (native/confine.c, docs/security.md): every attack of the security audit,
// run as a job on a pool opened as root with the defaults (each identity its own uid, no
// privilege, the host read-only, the server's files masked), must fail; ordinary work must
// keep working in the same setup. Real jobs; root only.
//
// The pool's data directory and the fake PKI live under /srv, not /tmp: a job's /tmp is
// its own, so a secret under the host's /tmp would be out of reach whatever the masks do.
// They are world-readable on purpose: only the confinement, not file modes, keeps them
// from the job.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { JobPool, resolveUser, type JobSpec } from "../../src/index.js";
import { DEFAULT_JOB_PATH } from "../../src/engine/job-env.js";
import { DEFAULT_UID_RANGE } from "../../src/engine/confinement/uid-range.js";
import { isAlive } from "../helpers/processes.js";
import { readUntil } from "../helpers/streams.js";
import { tempDir } from "../helpers/temp-dir.js";

const asRoot = process.getuid?.() === 0;
const needsRoot = { skip: !asRoot && "needs root (confinement is a root server's)" };

/** Whether a program is in a job's PATH (the server's own PATH may hold more, e.g. pyenv shims under /root, which jobs cannot read). */
function inJobPath(name: string): boolean {
  return DEFAULT_JOB_PATH.split(":").some((dir) => existsSync(join(dir, name)));
}
const python = inJobPath("python3");
const noPython = !python && "no python3 in the jobs' PATH";

interface Ran {
  id: string;
  status: Awaited<ReturnType<JobPool["wait"]>>;
  stdout: string;
  stderr: string;
}

async function run(pool: JobPool, spec: JobSpec): Promise<Ran> {
  const id = pool.create(spec);
  const status = await pool.wait(id);
  const { stdout, stderr } = await pool.output(id);
  return { id, status, stdout: stdout.toString(), stderr: stderr.toString() };
}

/** `sh -c script` as a job of `owner`; extra arguments become $1, $2... */
function sh(pool: JobPool, owner: string, script: string, extra: Partial<JobSpec> & { argv?: string[] } = {}): Promise<Ran> {
  const { argv = [], ...spec } = extra;
  return run(pool, { cmd: "sh", args: ["-c", script, "sh", ...argv], owner, ...spec });
}

/** A job that runs until stopped, started (its process runs) once this resolves, and has printed `ready`. */
async function startReady(pool: JobPool, spec: JobSpec): Promise<string> {
  const id = await pool.start(spec);
  await readUntil(pool.stream(id, "stdout", { follow: true }), (s) => s.toString().includes("ready\n"));
  return id;
}

/** The lines of /proc/self/status that say what privilege a process has. */
function privilegeFields(status: string): Record<string, string> {
  const wanted = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"];
  const fields: Record<string, string> = {};
  for (const line of status.split("\n")) {
    const [key, value] = line.split(":\t");
    if (key !== undefined && wanted.includes(key)) fields[key] = value!.trim();
  }
  return fields;
}
const UNPRIVILEGED = { CapInh: "0000000000000000", CapPrm: "0000000000000000", CapEff: "0000000000000000", CapBnd: "0000000000000000", CapAmb: "0000000000000000", NoNewPrivs: "1", Seccomp: "2" };

/** `for p in /proc/[0-9]*`, by builtins only (no process of its own shows up): "PID COMM" lines. */
const LIST_PROCESSES = 'for p in /proc/[0-9]*; do read -r c < "$p/comm" && echo "${p#/proc/} $c"; done';

/** A python3 one-off calling libc through ctypes; prints what `body` prints. */
function pythonLibc(body: string): string {
  return `import ctypes, os, sys, time\nlibc = ctypes.CDLL(None, use_errno=True)\n${body}`;
}

describe("confined jobs: the audit's attacks fail", needsRoot, () => {
  let root: string;
  let dataDir: string;
  let pki: string;
  let readOnlyDir: string;
  let shared: string;
  let pool: JobPool;

  before(async () => {
    root = mkdtempSync("/srv/jobworker-test-");
    chmodSync(root, 0o755);
    dataDir = join(root, "data");
    pki = join(root, "pki");
    mkdirSync(pki, { mode: 0o755 });
    writeFileSync(join(pki, "ca.key"), "FAKE CA PRIVATE KEY\n", { mode: 0o644 });
    writeFileSync(join(pki, "server.key"), "FAKE SERVER PRIVATE KEY\n", { mode: 0o644 });
    writeFileSync(join(pki, "ca.pem"), "PUBLIC CA CERTIFICATE\n", { mode: 0o644 });
    // Anyone may write here as far as modes go: only the read-only host stops a job.
    readOnlyDir = join(root, "not-writable");
    mkdirSync(readOnlyDir);
    chmodSync(readOnlyDir, 0o777);
    shared = join(root, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    pool = await JobPool.open({
      dataDir,
      stopGraceMs: 500,
      // As `serve` does for its key files (src/cli/commands/serve.ts), by hand here.
      confinement: { masks: [join(pki, "ca.key"), join(pki, "server.key")], writable: [shared] },
    });
    assert.equal(pool.isolation().enabled, true, pool.isolation().summary);
    assert.equal(pool.confinement().mode, "per-identity", pool.confinement().summary);
  });
  after(async () => {
    await pool?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("has no capability, no_new_privs and a seccomp filter, as a uid of its own (not root)", async () => {
    const job = await sh(pool, "alice", "cat /proc/self/status; echo uid=$(id -u)");
    assert.deepEqual(job.status, { state: "completed", exitCode: 0 }, job.stderr);
    assert.deepEqual(privilegeFields(job.stdout), UNPRIVILEGED);
    const isolation = pool.get(job.id).isolation!;
    assert.equal(isolation.confined, true);
    assert.equal(isolation.read_only_host, true);
    assert.notEqual(isolation.uid, 0);
    assert.match(job.stdout, new RegExp(`^uid=${isolation.uid}$`, "m"));
  });

  it("cannot unmount /proc or /tmp (to see the host's), and its /proc shows only its own processes", async () => {
    const script = `wc -l < /proc/self/mountinfo; umount -l /proc; echo "proc=$?"; umount /tmp; echo "tmp=$?"; umount -l /sys/fs/cgroup; echo "cgroup=$?"; wc -l < /proc/self/mountinfo; ${LIST_PROCESSES}`;
    const job = await sh(pool, "alice", script);
    const [mountsBefore, proc, tmp, cgroup, mountsAfter, ...processes] = job.stdout.trim().split("\n");
    assert.notEqual(proc, "proc=0", job.stderr);
    assert.notEqual(tmp, "tmp=0", job.stderr);
    assert.notEqual(cgroup, "cgroup=0", job.stderr);
    assert.equal(mountsAfter, mountsBefore, "no mount went away");
    assert.deepEqual(processes, ["1 jobworker-init", "2 sh"]);
    if (!python) return;
    // umount(8) refuses by itself when not root: ask the kernel too. umount2(MNT_DETACH): EPERM (1).
    const probe = await run(pool, { cmd: "python3", args: ["-c", pythonLibc('for p in [b"/proc", b"/tmp", b"/sys/fs/cgroup", b"/home/job"]:\n    print(libc.umount2(p, 2), ctypes.get_errno())')], owner: "alice" });
    assert.equal(probe.stdout, "-1 1\n".repeat(4), probe.stderr);
  });

  it("cannot mount anything: tmpfs, a bind mount, cgroupfs; nor through the new mount API", async () => {
    const script = `mount -t tmpfs x /mnt; echo "tmpfs=$?"; mount --bind /tmp /mnt; echo "bind=$?"; mkdir /tmp/cg; mount -t cgroup2 none /tmp/cg; echo "cgroup2=$?"; grep -c -e ' /mnt ' -e ' /tmp/cg ' /proc/self/mountinfo`;
    const job = await sh(pool, "alice", script);
    assert.deepEqual(job.stdout.trim().split("\n").slice(0, 3).map((l) => l.replace(/=0$/, "=SUCCEEDED")), ["tmpfs=32", "bind=32", "cgroup2=32"], job.stderr);
    assert.equal(job.stdout.trim().split("\n")[3], "0");
    if (!python) return;
    // mount(8) refuses by itself when not root: ask the kernel too. mount(2), fsopen (430)
    // and open_tree (428): EPERM (1).
    const body = 'print(libc.mount(b"x", b"/mnt", b"tmpfs", 0, None), ctypes.get_errno())\nprint(libc.mount(b"/tmp", b"/mnt", None, 4096, None), ctypes.get_errno())\nprint(libc.syscall(430, b"tmpfs", 0), ctypes.get_errno())\nprint(libc.syscall(428, -100, b"/", 1), ctypes.get_errno())';
    const probe = await run(pool, { cmd: "python3", args: ["-c", pythonLibc(body)], owner: "alice" });
    assert.equal(probe.stdout, "-1 1\n".repeat(4), probe.stderr);
  });

  it("cannot make a device node (mknod)", async () => {
    const job = await sh(pool, "alice", 'for n in "/tmp/mem c 1 1" "/tmp/vda b 254 0" "/home/job/null c 1 3"; do set -- $n; mknod "$@" && echo "made $1"; test -e "$1" && echo "exists $1"; done; echo done');
    assert.equal(job.stdout, "done\n");
    assert.match(job.stderr, /mknod: \/tmp\/mem: Operation not permitted/);
  });

  it("has a minimal /dev: no kvm, kmsg, loop or disk device", async () => {
    const absent = ["/dev/kvm", "/dev/kmsg", "/dev/loop0", "/dev/loop-control", "/dev/vda", "/dev/sda", "/dev/mem", "/dev/port", "/dev/fuse", "/dev/net/tun", "/dev/console", "/dev/btrfs-control"];
    const job = await sh(pool, "alice", 'for d in "$@"; do test -e "$d" && echo "present $d"; done; echo --; ls -A /dev', { argv: absent });
    const [present, listing] = job.stdout.split("--\n");
    assert.equal(present, "", "none of the host's devices is there");
    const allowed = ["fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"];
    const entries = listing!.trim().split("\n");
    assert.deepEqual(entries.filter((e) => !allowed.includes(e)), [], `unexpected in /dev: ${entries.join(" ")}`);
    for (const needed of ["null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue"]) assert.ok(entries.includes(needed), `/dev/${needed}`);
  });

  it("cannot read the server's secrets: masked keys, the data directory's jobs.db, another identity's output", async () => {
    const alice = await sh(pool, "alice", "echo alice-private-output; echo alice-private-error >&2");
    assert.equal(alice.stdout, "alice-private-output\n");
    const secrets = [join(pki, "ca.key"), join(pki, "server.key"), join(dataDir, "jobs.db"), join(dataDir, "jobs", `${alice.id}.stdout`), join(dataDir, "jobs", `${alice.id}.stderr`)];
    // Each: "PATH missing", or "PATH SIZE" of what the job can read.
    const script = `for f in "$@"; do if [ -e "$f" ]; then echo "$f $(cat "$f" | wc -c)"; else echo "$f missing"; fi; done; echo --; ls -A ${dataDir}; echo --; cat ${join(pki, "ca.pem")}`;
    const bob = await sh(pool, "bob", script, { argv: secrets });
    const [reads, dataListing, publicCert] = bob.stdout.split("--\n");
    for (const line of reads!.trim().split("\n")) assert.match(line, / (missing|0)$/, `readable by the job: ${line}`);
    assert.doesNotMatch(bob.stdout, /FAKE|alice-private/);
    assert.equal(dataListing, "", "the data directory is empty in the job");
    // Not masked: readable, which shows that the masks (not file modes) hide the keys.
    assert.equal(publicCert, "PUBLIC CA CERTIFICATE\n");
    // And the host's files are untouched.
    assert.equal(readFileSync(join(pki, "ca.key"), "utf8"), "FAKE CA PRIVATE KEY\n");
    assert.ok(statSync(join(dataDir, "jobs.db")).size > 0);
  });

  it("cannot write the host: /etc, /usr, /, a world-writable directory under /srv", async () => {
    const marker = `jobworker-confinement-${process.pid}`;
    const targets = [`/etc/${marker}`, `/usr/${marker}`, `/${marker}`, join(readOnlyDir, marker)];
    const job = await sh(pool, "alice", 'for f in "$@"; do echo x > "$f" && echo "wrote $f"; done; echo done', { argv: targets });
    assert.equal(job.stdout, "done\n");
    assert.match(job.stderr, new RegExp(`cannot create ${readOnlyDir}/${marker}: Read-only file system`));
    for (const target of targets) assert.equal(existsSync(target), false, target);
  });

  it("gains nothing from a setuid-root or file-capability binary (no_new_privs, nosuid)", async () => {
    // Root (the test) plants them where the job can run them: the shared writable path.
    const rootOnly = join(shared, "root-only");
    writeFileSync(rootOnly, "ROOT ONLY\n", { mode: 0o600 });
    const setuidCat = join(shared, "setuid-cat");
    copyFileSync("/usr/bin/cat", setuidCat);
    chmodSync(setuidCat, 0o4755);
    const binaries = [setuidCat];
    if (existsSync("/usr/sbin/setcap")) {
      const capCat = join(shared, "cap-cat");
      copyFileSync("/usr/bin/cat", capCat);
      const set = spawnSync("/usr/sbin/setcap", ["cap_dac_override,cap_dac_read_search+ep", capCat], { encoding: "utf8" });
      if (set.status === 0) binaries.push(capCat);
    }
    try {
      const job = await sh(pool, "alice", 'f=$1; shift; for b in "$@"; do "$b" "$f" && echo "read by $b"; done; echo done', { argv: [rootOnly, ...binaries] });
      assert.equal(job.stdout, "done\n");
      assert.equal(job.stderr.match(/Permission denied/g)?.length, binaries.length, job.stderr);
    } finally {
      for (const path of [rootOnly, ...binaries]) rmSync(path, { force: true });
    }
  });

  it("writes a --writable path, shared between identities and with the host", async () => {
    const alice = await sh(pool, "alice", `echo from-alice > ${shared}/alice.txt && cat ${shared}/alice.txt`);
    assert.deepEqual(alice.status, { state: "completed", exitCode: 0 }, alice.stderr);
    const bob = await sh(pool, "bob", `cat ${shared}/alice.txt && echo from-bob > ${shared}/bob.txt`);
    assert.deepEqual(bob.status, { state: "completed", exitCode: 0 }, bob.stderr);
    assert.equal(bob.stdout, "from-alice\n");
    assert.equal(readFileSync(join(shared, "bob.txt"), "utf8"), "from-bob\n");
    assert.equal(statSync(join(shared, "alice.txt")).uid, pool.get(alice.id).isolation!.uid);
  });

  it("sees no cgroupfs, and cannot kill another identity's job through it (bob's job runs on)", { timeout: 120_000 }, async () => {
    const bob = await startReady(pool, { cmd: "sh", args: ["-c", "echo ready; exec sleep 1000"], owner: "bob" });
    try {
      // Bob's job's control files, as the host sees them: the paths an attacker would aim at.
      const targets: string[] = [];
      for (const parent of pool.resourceControl().parentDirs) {
        for (const entry of readdirSync(parent, { withFileTypes: true })) {
          if (!entry.isDirectory()) continue;
          for (const file of ["cgroup.kill", "cgroup.procs", "cgroup.freeze", "tasks", "freezer.state", "pids.max", "memory.limit_in_bytes"]) {
            const path = join(parent, entry.name, file);
            if (existsSync(path)) targets.push(path);
          }
        }
      }
      assert.ok(targets.some((t) => t.endsWith("/cgroup.kill") || t.endsWith("/freezer.state")), `bob's cgroup files: ${targets.join(" ")}`);
      const script = [
        "ls -A /sys/fs/cgroup; echo --",
        "find / \\( -name cgroup.kill -o -name cgroup.procs -o -name freezer.state \\) 2>/dev/null; echo --",
        'for f in "$@" /sys/fs/cgroup/*/jobworker*/*/*/cgroup.kill /sys/fs/cgroup/unified/jobworker/*/*/cgroup.kill; do (echo 1 > "$f") 2>/dev/null && echo "wrote $f"; done; echo done',
      ].join("\n");
      const alice = await sh(pool, "alice", script, { argv: targets });
      assert.equal(alice.stdout, "--\n--\ndone\n", "an empty /sys/fs/cgroup, no control file anywhere, no write");
      assert.equal(pool.status(bob).state, "running");
      assert.ok(isAlive(pool.get(bob).pid!), "bob's process lives");
    } finally {
      await pool.stop(bob);
    }
  });

  it('with network "none" cannot enter another network namespace (nsenter by /proc/1 or any pid), and has only lo', async () => {
    const script = 'ls /sys/class/net; echo --; nsenter --net=/proc/1/ns/net true; echo "pid1=$?"; for p in /proc/[0-9]*; do nsenter --net="$p/ns/net" true 2>/dev/null && echo "entered by $p"; done; nsenter -t 1 -n true 2>/dev/null || echo refused; echo --; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "';
    const job = await sh(pool, "alice", script, { network: "none" });
    const [interfaces, entered, procNet] = job.stdout.split("--\n");
    assert.equal(interfaces, "lo\n");
    assert.equal(entered, "pid1=1\nrefused\n", job.stderr);
    assert.equal(procNet, "lo\n");
    assert.equal(pool.get(job.id).isolation?.network, "none");
  });

  it("cannot make namespaces: unshare -Ur, -m, -n, -p all fail; clone3 is ENOSYS", async () => {
    const job = await sh(pool, "alice", 'for flags in -Ur -m -n "-p -f" -U; do unshare $flags true && echo "unshared $flags"; done; echo done');
    assert.equal(job.stdout, "done\n");
    assert.match(job.stderr, /unshare failed: Operation not permitted/);
    if (!python) return;
    // unshare(CLONE_NEWUSER) and setns on its own namespace: EPERM (1); clone3 (435): ENOSYS (38).
    const body = 'print(libc.unshare(0x10000000), ctypes.get_errno())\nfd = os.open("/proc/self/ns/net", os.O_RDONLY)\nprint(libc.setns(fd, 0), ctypes.get_errno())\nprint(libc.syscall(435, None, 0), ctypes.get_errno())';
    const probe = await run(pool, { cmd: "python3", args: ["-c", pythonLibc(body)], owner: "alice" });
    assert.equal(probe.stdout, "-1 1\n-1 1\n-1 38\n", probe.stderr);
  });

  it("cannot reach the launcher: not in its /proc; the launcher's channels are sockets, no FIFO to inject into", async () => {
    const launcher = pool.launcherPid();
    assert.ok(launcher !== undefined && launcher > 0);
    for (const fd of [0, 1]) {
      assert.match(readlinkSync(`/proc/${launcher}/fd/${fd}`), /^socket:\[\d+\]$/);
      // A socket cannot be opened by its /proc link (a FIFO could: anyone with the path could write requests).
      assert.throws(() => openSync(`/proc/${launcher}/fd/${fd}`, fd === 0 ? "w" : "r"), { code: "ENXIO" });
    }
    const job = await sh(pool, "alice", `test -e /proc/${launcher} && echo "sees ${launcher}"; ${LIST_PROCESSES}; echo --; ls -l /proc/self/fd > /tmp/fds; tail -n +2 /tmp/fds`);
    const [processes, fds] = job.stdout.split("--\n");
    assert.deepEqual(processes!.trim().split("\n"), ["1 jobworker-init", "2 sh"]);
    // ls's own: stdin (/dev/null), its stdout, the job's stderr file and the directory it
    // reads. No socket or pipe of the launcher's leaked in.
    const links = fds!.trim().split("\n").map((l) => l.replace(/^.* (\d+) -> (.*)$/, "$1 $2"));
    assert.deepEqual(links.map((l) => l.split(" ")[0]), ["0", "1", "2", "3"], links.join("\n"));
    assert.equal(links[0], "0 /dev/null");
    assert.equal(links[1], "1 /tmp/fds");
    assert.doesNotMatch(fds!, /socket:|pipe:/);
  });

  it("cross-identity: alice and bob get different uids; bob sees neither alice's home nor her files; alice's home persists", async () => {
    const alice = await sh(pool, "alice", 'echo alice-secret > "$HOME/secret"; echo "$HOME"; id -u');
    assert.deepEqual(alice.status, { state: "completed", exitCode: 0 }, alice.stderr);
    const bob = await sh(pool, "bob", `id -u; echo --; ls -A /home; echo --; ls -A /home/job; echo --; cat /home/job/secret ${dataDir}/homes/*/secret 2>&1 | grep -c alice-secret`);
    const aliceUid = pool.get(alice.id).isolation!.uid!;
    const bobUid = pool.get(bob.id).isolation!.uid!;
    assert.notEqual(aliceUid, bobUid);
    for (const uid of [aliceUid, bobUid]) assert.ok(uid >= DEFAULT_UID_RANGE.first && uid <= DEFAULT_UID_RANGE.last, String(uid));
    assert.equal(alice.stdout, `/home/job\n${aliceUid}\n`);
    const [uid, home, own, found] = bob.stdout.split("--\n");
    assert.equal(uid, `${bobUid}\n`);
    assert.equal(home, "job\n", "only /home/job, his own");
    assert.doesNotMatch(own!, /secret/);
    assert.equal(found, "0\n");
    const hostFile = join(dataDir, "homes", String(aliceUid), "secret");
    assert.equal(statSync(hostFile).uid, aliceUid);
    const again = await sh(pool, "alice", 'cat "$HOME/secret"');
    assert.equal(again.stdout, "alice-secret\n");
  });

  it("cannot signal another identity's job: kill -9 of bob's pid is ESRCH, kill -9 -1 kills only alice's own", async () => {
    const bob = await startReady(pool, { cmd: "sh", args: ["-c", "echo ready; exec sleep 1000"], owner: "bob" });
    try {
      const bobPid = pool.get(bob).pid!;
      const job = await sh(pool, "alice", `kill -9 ${bobPid}; echo "direct=$?"; kill -9 1; echo "init=$?"; sleep 1000 & kill -9 -1; wait; echo survived`);
      assert.match(job.stdout, /^direct=1\ninit=1\n/, job.stderr);
      assert.match(job.stderr, /No such process/);
      assert.match(job.stdout, /survived\n$/);
      assert.equal(pool.status(bob).state, "running");
      assert.ok(isAlive(bobPid));
    } finally {
      await pool.stop(bob);
    }
  });

  it("inotify: alice holding every inotify instance she may have does not make bob's inotify_init fail", { skip: noPython, timeout: 60_000 }, async () => {
    const hog = pythonLibc("fds = []\nerr = 0\nwhile len(fds) < 100000:\n    fd = libc.inotify_init1(0)\n    if fd < 0:\n        err = ctypes.get_errno()\n        break\n    fds.append(fd)\nprint(len(fds), err)\nprint('ready', flush=True)\ntime.sleep(600)");
    const alice = await startReady(pool, { cmd: "python3", args: ["-c", hog], owner: "alice" });
    try {
      const [held, errno] = (await pool.output(alice)).stdout.toString().split("\n")[0]!.split(" ").map(Number);
      const max = Number(readFileSync("/proc/sys/fs/inotify/max_user_instances", "utf8"));
      assert.equal(errno, 24, "EMFILE: alice reached her limit");
      assert.ok(held! > 0 && held! <= max, `held ${held} of ${max}`);
      const bob = await run(pool, { cmd: "python3", args: ["-c", pythonLibc("fd = libc.inotify_init1(0)\nprint('ok' if fd >= 0 else 'failed', ctypes.get_errno() if fd < 0 else 0)")], owner: "bob" });
      assert.equal(bob.stdout, "ok 0\n", bob.stderr);
    } finally {
      await pool.stop(alice);
    }
  });

  it("a process bomb of alice is held at the default pids limit; bob's job and the pool go on", { skip: noPython, timeout: 300_000 }, async () => {
    const pids = pool.limitPolicy().defaults.pids;
    assert.ok(pids !== undefined, "a default pids limit on a root server with cgroups");
    // Bounded: 6000 forks at most (each child execs sleep), stopping after 20 refusals.
    const bomb = [
      "import os, time",
      "ok = failed = 0",
      "for i in range(6000):",
      "    try:",
      "        pid = os.fork()",
      "    except OSError:",
      "        failed += 1",
      "        if failed >= 20: break",
      "        continue",
      "    if pid == 0:",
      "        try: os.execv('/bin/sleep', ['sleep', '600'])",
      "        finally: os._exit(127)",
      "    ok += 1",
      "alive = len([d for d in os.listdir('/proc') if d.isdigit()])",
      "print(ok, failed, alive)",
      "print('ready', flush=True)",
      "time.sleep(600)",
    ].join("\n");
    const alice = await startReady(pool, { cmd: "python3", args: ["-c", bomb], owner: "alice" });
    try {
      const [ok, failed, alive] = (await pool.output(alice)).stdout.toString().split("\n")[0]!.split(" ").map(Number);
      assert.ok(failed! > 0, "forks were refused");
      assert.ok(ok! < pids!, `${ok} children, limit ${pids}`);
      assert.ok(alive! <= pids!, `${alive} processes in the job's /proc, limit ${pids}`);
      const started = Date.now();
      const bob = await sh(pool, "bob", "echo ok");
      assert.deepEqual(bob.status, { state: "completed", exitCode: 0 });
      assert.equal(bob.stdout, "ok\n");
      assert.ok(Date.now() - started < 30_000, "bob's job was not starved");
      assert.ok(pool.list({ owner: "alice" }).length > 0, "the pool answers");
      assert.equal(pool.status(alice).state, "running");
    } finally {
      await pool.stop(alice);
    }
    assert.equal(pool.status(alice).state, "completed");
  });

  it("a stdin job is confined the same", async () => {
    const id = await pool.start({ cmd: "sh", args: ["-c", "read -r line; echo got=$line; cat /proc/self/status"], owner: "alice", stdin: true });
    const stdin = pool.openStdin(id);
    stdin.end("hello\n");
    assert.deepEqual(await pool.wait(id), { state: "completed", exitCode: 0 });
    const stdout = (await pool.output(id)).stdout.toString();
    assert.match(stdout, /^got=hello\n/);
    assert.deepEqual(privilegeFields(stdout), UNPRIVILEGED);
    assert.equal(pool.get(id).isolation?.confined, true);
  });

  describe("ordinary work keeps working", () => {
    it("sh -c 'echo hi'", async () => {
      const job = await sh(pool, "alice", "echo hi");
      assert.deepEqual(job.status, { state: "completed", exitCode: 0 });
      assert.equal(job.stdout, "hi\n");
    });

    it("cat /etc/passwd, ls /usr (world-readable host files)", async () => {
      const job = await sh(pool, "alice", "cat /etc/passwd; echo --; ls /usr");
      assert.deepEqual(job.status, { state: "completed", exitCode: 0 }, job.stderr);
      assert.match(job.stdout, /^root:x:0:0:/);
      assert.match(job.stdout, /--\n(.*\n)*bin\n/);
    });

    it("a C build in /tmp with cc", { skip: !inJobPath("cc") && "no cc" }, async () => {
      const job = await sh(pool, "alice", `cd /tmp && printf '#include <stdio.h>\\n#include <pthread.h>\\nstatic void *f(void *a) { return a; }\\nint main(void) { pthread_t t; pthread_create(&t, 0, f, 0); pthread_join(t, 0); puts("built"); return 0; }\\n' > hello.c && cc -O2 -pthread -o hello hello.c && ./hello`);
      assert.deepEqual(job.status, { state: "completed", exitCode: 0 }, job.stderr);
      assert.equal(job.stdout, "built\n");
    });

    it("python3 with threads", { skip: noPython }, async () => {
      const script = "import threading\nout = []\nts = [threading.Thread(target=lambda i=i: out.append(i * i)) for i in range(8)]\n[t.start() for t in ts]\n[t.join() for t in ts]\nprint(sum(out))";
      const job = await run(pool, { cmd: "python3", args: ["-c", script], owner: "alice" });
      assert.deepEqual(job.status, { state: "completed", exitCode: 0 }, job.stderr);
      assert.equal(job.stdout, "140\n");
    });

    it("node -e (the server's own node, readable by the job's uid), with a worker thread", async () => {
      const script = 'const { Worker } = require("node:worker_threads"); new Worker("require(\\"node:worker_threads\\").parentPort.postMessage(process.getuid())", { eval: true }).on("message", (uid) => console.log("uid", uid))';
      const job = await run(pool, { cmd: process.execPath, args: ["-e", script], owner: "alice" });
      assert.deepEqual(job.status, { state: "completed", exitCode: 0 }, job.stderr);
      assert.equal(job.stdout, `uid ${pool.get(job.id).isolation!.uid}\n`);
    });

    it("git init /tmp/r && git -C /tmp/r status, and a commit", { skip: !inJobPath("git") && "no git" }, async () => {
      const job = await sh(pool, "alice", "git init -q /tmp/r && git -C /tmp/r status --short && git -C /tmp/r -c user.name=a -c user.email=a@example.com commit -q --allow-empty -m first && git -C /tmp/r log --format=%s");
      assert.deepEqual(job.status, { state: "completed", exitCode: 0 }, job.stderr);
      assert.equal(job.stdout, "first\n");
    });

    it("writes /tmp, /var/tmp and $HOME", async () => {
      const job = await sh(pool, "alice", 'for d in /tmp /var/tmp "$HOME"; do echo "in $d" > "$d/f" && cat "$d/f"; done');
      assert.deepEqual(job.status, { state: "completed", exitCode: 0 }, job.stderr);
      assert.equal(job.stdout, "in /tmp\nin /var/tmp\nin /home/job\n");
    });
  });
});

// Under `runAs`, every identity's jobs run as one user: they SHARE A UID. What keeps them
// apart then is the rest: each job its own PID namespace (no signals between them), its own
// /tmp, /var/tmp and /dev/shm (the audit found that, under the old setup, bob could read a
// file alice had left in /dev/shm), its own IPC namespace, and each identity its own home.
// Files in shared `writable` paths are shared by that uid, as docs/security.md says.
describe("confined jobs under runAs nobody: one uid, still apart", needsRoot, () => {
  let dir: ReturnType<typeof tempDir>;
  let nobody: ReturnType<typeof resolveUser>;
  let pool: JobPool;
  before(async () => {
    dir = tempDir();
    nobody = resolveUser("nobody");
    pool = await JobPool.open({ dataDir: join(dir.path, "data"), runAs: nobody, stopGraceMs: 500 });
    assert.equal(pool.confinement().mode, "run-as", pool.confinement().summary);
  });
  after(async () => {
    await pool?.close();
    dir?.remove();
  });

  it("records say uid 65534 and confined; the job has no privilege", async () => {
    const job = await sh(pool, "alice", "id -u; cat /proc/self/status");
    assert.equal(job.stdout.split("\n")[0], String(nobody.uid));
    assert.deepEqual(privilegeFields(job.stdout), UNPRIVILEGED);
    const isolation = pool.get(job.id).isolation!;
    assert.equal(isolation.uid, 65534);
    assert.equal(isolation.gid, nobody.gid);
    assert.equal(isolation.confined, true);
    assert.equal(isolation.home, "/home/job");
  });

  it("each identity still has its own home: bob cannot see alice's $HOME/secret", async () => {
    const alice = await sh(pool, "alice", 'echo alice-secret > "$HOME/secret" && cat "$HOME/secret"');
    assert.equal(alice.stdout, "alice-secret\n", alice.stderr);
    const bob = await sh(pool, "bob", `ls -A /home; echo --; ls -A "$HOME"; echo --; cat "$HOME/secret" ${join(dir.path, "data")}/homes/*/secret 2>&1 | grep -c alice-secret`);
    assert.equal(bob.stdout, "job\n--\n--\n0\n", bob.stderr);
    assert.equal((await sh(pool, "alice", 'cat "$HOME/secret"')).stdout, "alice-secret\n");
  });

  it("/dev/shm is private per job: bob cannot see the file alice's running job left there", async () => {
    const alice = await startReady(pool, { cmd: "sh", args: ["-c", "echo alice-shm > /dev/shm/x && echo ready && exec sleep 1000"], owner: "alice" });
    try {
      const bob = await sh(pool, "bob", "ls -A /dev/shm; echo --; cat /dev/shm/x 2>/dev/null || echo missing");
      assert.equal(bob.stdout, "--\nmissing\n");
      assert.equal(pool.status(alice).state, "running");
    } finally {
      await pool.stop(alice);
    }
  });

  it("bob cannot signal alice's job though they share a uid: her pid does not exist in his namespace", async () => {
    const alice = await startReady(pool, { cmd: "sh", args: ["-c", "echo ready; exec sleep 1000"], owner: "alice" });
    try {
      const alicePid = pool.get(alice).pid!;
      const bob = await sh(pool, "bob", `kill -9 ${alicePid}; echo "kill=$?"; sleep 1000 & kill -9 -1; wait; echo survived`);
      assert.match(bob.stdout, /^kill=1\n(.*\n)*survived\n$/);
      assert.match(bob.stderr, /No such process/);
      assert.equal(pool.status(alice).state, "running");
      assert.ok(isAlive(alicePid));
    } finally {
      await pool.stop(alice);
    }
  });
});
