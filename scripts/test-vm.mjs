#!/usr/bin/env node
// `npm run test:vm [-- CMD...]`: boots a cgroup-v2-only Debian in QEMU (software
// emulation: no KVM is assumed) and runs CMD there, as root, in a copy of this checkout;
// without CMD, the cgroup and limits suites. Once with systemd as PID 1 (CMD runs in a
// unit with Delegate=yes, as serve does under deploy/jobworker.service), once with a bare
// init that mounts cgroup2 and runs it (a container, a host without systemd).
// JOBWORKER_VM_INIT=systemd|bare picks one. The exit status is CMD's (the first failing).
//
// The image (debootstrap of Debian 12 with its kernel, and this host's Node.js) is built
// once into .vm/ (gitignored) and reused while its recipe is unchanged; every boot runs on
// a throw-away overlay of it. The checkout reaches the VM over 9p, read-only; the command
// and its exit status go through a second share, its output over the serial console.
// Needs root (debootstrap) and the Debian packages it installs itself. docs/deploy.md,
// "cgroup v2-only hosts", gives the times.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const checkout = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const vmDir = join(checkout, ".vm");
const image = join(vmDir, "image");
const SUITE = [
  "test/engine/cgroups.test.ts",
  "test/engine/cgroups-kill.test.ts",
  "test/engine/client-limits.test.ts",
  "test/engine/job-pool-durability.test.ts",
  // A job's usage, read from its cgroup (cpu.stat, memory.peak, io.stat on v2).
  "test/engine/job-usage.test.ts",
  "test/engine/confinement/host-defaults.test.ts",
  "test/server/limits.test.ts",
  "test/e2e/client-limits.test.ts",
  "test/e2e/restart.test.ts",
  "test/vm/",
];
// Debian's packages the image holds: systemd as an init, the tools the suites call.
const GUEST_PACKAGES = ["systemd", "systemd-sysv", "linux-image-amd64", "procps", "openssl", "curl", "util-linux", "ca-certificates", "kmod", "iproute2"];
const MEMORY_MB = Number(process.env.JOBWORKER_VM_MEMORY_MB) || 4096;
// One boot's bound: the suites take about 11 minutes in it (docs/deploy.md), CI allows 90 for everything.
const LIMIT_MIN = Number(process.env.JOBWORKER_VM_LIMIT_MIN) || 30;

function sh(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
  return r;
}

function seconds(since) {
  return ((performance.now() - since) / 1000).toFixed(1);
}

/** qemu, debootstrap and mkfs.ext4, from Debian, where missing. */
function ensureHostPackages() {
  const missing = [
    ["qemu-system-x86_64", "qemu-system-x86"],
    ["qemu-img", "qemu-utils"],
    ["debootstrap", "debootstrap"],
    ["mkfs.ext4", "e2fsprogs"],
  ].filter(([cmd]) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status !== 0);
  if (missing.length === 0) return;
  console.error(`test-vm: installing ${missing.map(([, p]) => p).join(" ")}`);
  sh("apt-get", ["update", "-qq"]);
  sh("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing.map(([, p]) => p)], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

/** What the Debian root is made of, and what the image adds to it: a change to either builds it again. */
function keys() {
  const base = createHash("sha256").update(JSON.stringify({ GUEST_PACKAGES, suite: "bookworm", v: 1 })).digest("hex").slice(0, 16);
  const hash = createHash("sha256").update(JSON.stringify({ base, node: process.version, execPath: process.execPath, v: 2 }));
  for (const f of ["guest-init.sh", "guest-boot.sh", "guest-unit.service"]) hash.update(readFileSync(join(checkout, "scripts/vm", f)));
  return { base, image: hash.digest("hex").slice(0, 16) };
}

const root = join(vmDir, "root");

/** Debian 12 with its kernel, by debootstrap, into .vm/root (kept: the slow part). */
function debootstrap(key) {
  const started = performance.now();
  console.error("test-vm: debootstrap of Debian 12 into .vm/root (minutes, once)");
  rmSync(root, { recursive: true, force: true });
  mkdirSync(vmDir, { recursive: true });
  sh("debootstrap", ["--variant=minbase", `--include=${GUEST_PACKAGES.join(",")}`, "bookworm", root, process.env.JOBWORKER_VM_MIRROR || "http://deb.debian.org/debian"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  writeFileSync(join(vmDir, "root.key"), key);
  console.error(`test-vm: debootstrap took ${seconds(started)} s`);
}

/** Replaces whatever is at `path` in the guest's root by a link to `target`. */
function link(target, path) {
  rmSync(join(root, path), { force: true });
  symlinkSync(target, join(root, path));
}

/** The image: the root with this host's Node.js and the guest's scripts, as an ext4 disk. */
function buildImage(key) {
  const started = performance.now();
  rmSync(image, { recursive: true, force: true });
  // This host's Node.js, at the same path (and its npm, where there is one).
  const node = realpathSync(process.execPath);
  mkdirSync(join(root, dirname(node)), { recursive: true });
  rmSync(join(root, node), { force: true });
  copyFileSync(node, join(root, node));
  chmodSync(join(root, node), 0o755);
  if (process.execPath !== node) link(node, process.execPath);
  if (node !== "/usr/bin/node") link(node, "/usr/bin/node");
  const npm = spawnSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).stdout.trim();
  if (npm) {
    const npmCli = realpathSync(npm); // …/node_modules/npm/bin/npm-cli.js
    const npmDir = resolve(dirname(npmCli), "..");
    rmSync(join(root, npmDir), { recursive: true, force: true });
    cpSync(npmDir, join(root, npmDir), { recursive: true });
    link(npmCli, npm);
  }
  const vm = join(checkout, "scripts/vm");
  for (const [from, to] of [["guest-init.sh", "usr/local/sbin/jobworker-vm-init"], ["guest-boot.sh", "usr/local/sbin/jobworker-vm-boot"]]) {
    copyFileSync(join(vm, from), join(root, to));
    chmodSync(join(root, to), 0o755);
  }
  copyFileSync(join(vm, "guest-unit.service"), join(root, "etc/systemd/system/jobworker-vm-run.service"));
  mkdirSync(join(root, "etc/systemd/system/multi-user.target.wants"), { recursive: true });
  link("/etc/systemd/system/jobworker-vm-run.service", "etc/systemd/system/multi-user.target.wants/jobworker-vm-run.service");
  // The serial console carries the command's output: no login prompt on it.
  for (const unit of ["serial-getty@ttyS0.service", "getty@tty1.service", "systemd-timesyncd.service", "apt-daily.timer", "apt-daily-upgrade.timer"]) {
    link("/dev/null", join("etc/systemd/system", unit));
  }
  writeFileSync(join(root, "etc/fstab"), "/dev/vda / ext4 rw,relatime 0 1\n");
  writeFileSync(join(root, "etc/hostname"), "jobworker-vm\n");
  writeFileSync(join(root, "etc/hosts"), "127.0.0.1 localhost jobworker-vm\n::1 localhost\n");
  mkdirSync(image, { recursive: true });
  const boot = join(root, "boot");
  const kernel = readdirSync(boot).find((f) => /^vmlinuz-.*-amd64$/.test(f));
  const initrd = readdirSync(boot).find((f) => /^initrd\.img-.*-amd64$/.test(f));
  if (!kernel || !initrd) throw new Error(`no kernel or initrd in ${boot}: ${readdirSync(boot).join(" ")}`);
  copyFileSync(join(boot, kernel), join(image, "vmlinuz"));
  copyFileSync(join(boot, initrd), join(image, "initrd.img"));
  sh("mkfs.ext4", ["-q", "-F", "-L", "jobworker-vm", "-d", root, join(image, "root.img"), "6G"]);
  writeFileSync(join(image, "key"), key);
  console.error(`test-vm: image built in ${seconds(started)} s`);
}

/**
 * The copy of the checkout the command runs in, as an ext4 disk made here in seconds
 * (copying over 9p under emulation took three minutes): hard links of everything but
 * .vm and .git, then mkfs.ext4 -d. The VM mounts it at the checkout's own path.
 */
function copyOfCheckout(run) {
  const started = performance.now();
  const staging = join(run, "staging");
  mkdirSync(staging);
  const entries = readdirSync(checkout).filter((e) => e !== ".vm" && e !== ".git");
  sh("cp", ["-al", ...entries.map((e) => join(checkout, e)), staging]);
  const disk = join(run, "checkout.img");
  sh("mkfs.ext4", ["-q", "-F", "-L", "checkout", "-d", staging, disk, "4G"]);
  rmSync(staging, { recursive: true, force: true });
  console.error(`test-vm: copy of the checkout made in ${seconds(started)} s`);
  return disk;
}

/** Boots the VM once with `init` ("systemd" or "bare") and runs `cmd` in it; resolves to its exit status. */
async function boot(init, cmd) {
  const run = join(vmDir, `run-${init}`);
  rmSync(run, { recursive: true, force: true });
  mkdirSync(run, { recursive: true });
  writeFileSync(join(run, "cmd"), cmd.map((a) => `${a}\0`).join(""));
  // The copy sits at the checkout's own path, except below /tmp and /var/tmp, which the
  // shipped unit's PrivateTmp=yes hides from the server that test/vm runs from it.
  writeFileSync(join(run, "checkout"), /^\/(var\/)?tmp\//.test(`${checkout}/`) ? "/srv/jobworker" : checkout);
  const disk = copyOfCheckout(run);
  const overlay = join(run, "overlay.qcow2");
  sh("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", join(image, "root.img"), overlay]);
  const append = [
    "root=/dev/vda rw console=ttyS0 panic=-1 quiet loglevel=3",
    // cgroup v2 only, as Debian 12, Ubuntu 22.04 and RHEL 9 boot.
    "systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all",
    init === "systemd" ? "systemd.show_status=0" : "init=/usr/local/sbin/jobworker-vm-init",
  ].join(" ");
  // Software emulation unless asked: a /dev/kvm may be there without working (here the CPU
  // shows no vmx/svm, and qemu aborts on its first MSR).
  const kvm = process.env.JOBWORKER_VM_KVM === "1";
  const cpus = Math.max(1, Math.min(4, Number(spawnSync("nproc", { encoding: "utf8" }).stdout.trim()) || 2));
  const args = [
    "-machine", "q35", "-accel", kvm ? "kvm" : "tcg,thread=multi",
    "-cpu", kvm ? "host" : "max", "-smp", String(cpus), "-m", String(MEMORY_MB),
    "-kernel", join(image, "vmlinuz"), "-initrd", join(image, "initrd.img"), "-append", append,
    "-drive", `file=${overlay},if=virtio,format=qcow2,cache=unsafe`,
    "-drive", `file=${disk},if=virtio,format=raw,cache=unsafe`,
    "-virtfs", `local,path=${run},mount_tag=run,security_model=none,id=run`,
    "-nic", "none", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
  ];
  console.error(`test-vm: booting (${init} as PID 1, ${cpus} CPUs, ${MEMORY_MB} MiB, ${args[3]})`);
  const started = performance.now();
  const qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "inherit", "inherit"] });
  // Ctrl-C or a CI's SIGTERM ends the VM too, rather than leaving it running.
  const forward = () => qemu.kill("SIGKILL");
  process.once("SIGINT", forward).once("SIGTERM", forward);
  const bound = setTimeout(() => {
    console.error(`test-vm: the VM passed its limit of ${LIMIT_MIN} minutes; stopping it`);
    qemu.kill("SIGKILL");
  }, LIMIT_MIN * 60_000);
  const code = await new Promise((done) => qemu.on("exit", (c, s) => done(c ?? s)));
  clearTimeout(bound);
  process.off("SIGINT", forward).off("SIGTERM", forward);
  const statusFile = join(run, "status");
  const status = existsSync(statusFile) ? Number(readFileSync(statusFile, "utf8").trim()) : undefined;
  console.error(`test-vm: ${init}: VM ran ${seconds(started)} s, qemu exited ${code}, command exit status ${status ?? "none (it did not finish)"}`);
  rmSync(overlay, { force: true });
  rmSync(disk, { force: true });
  return status ?? 1;
}

async function main() {
  if (process.getuid?.() !== 0) {
    console.error("test-vm: needs root (debootstrap, and the VM's image)");
    process.exit(1);
  }
  const cmd = process.argv.slice(2);
  const command = cmd.length > 0 ? cmd : [process.execPath, "scripts/run-tests.mjs", ...SUITE];
  ensureHostPackages();
  const key = keys();
  const current = (file) => (existsSync(file) ? readFileSync(file, "utf8") : "");
  if (current(join(vmDir, "root.key")) !== key.base) debootstrap(key.base);
  if (current(join(image, "key")) !== key.image) buildImage(key.image);
  const inits = process.env.JOBWORKER_VM_INIT ? [process.env.JOBWORKER_VM_INIT] : ["systemd", "bare"];
  let worst = 0;
  for (const init of inits) {
    if (!["systemd", "bare"].includes(init)) throw new Error(`JOBWORKER_VM_INIT must be systemd or bare, not ${init}`);
    const status = await boot(init, command);
    if (status !== 0 && worst === 0) worst = status;
  }
  process.exit(worst);
}

await main();
