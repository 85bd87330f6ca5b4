// `npm run package`: the tarball holds the whole program with its native parts built, and
// runs where there is Node.js of the same major version and nothing else. It is unpacked,
// installed and run as docs/deploy.md says (/opt/jobworker-<version>, the link
// /opt/jobworker the unit uses) in private mount namespaces where the compilers, npm
// and the source tree are hidden: /dev/null over each compiler's file, a tmpfs over the
// checkout, and a temporary directory over /opt. The package under test is
// $JOBWORKER_PACKAGE when set (.ci/run passes what `npm run package` wrote), else one
// built here by the same script.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, realpathSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../helpers/temp-dir.js";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
const FOLDER = `jobworker-${version}`;
const NAME = `${FOLDER}-linux-${process.arch}-node${process.versions.node.split(".")[0]}.tar.gz`;
/** Where docs/deploy.md installs the package, and the command the unit runs. */
const INSTALL = "/opt";
const COMMAND = "/opt/jobworker/bin/jobworker";
/** What must not be needed: compilers, build tools and the registry's client. */
const HIDDEN_TOOLS = ["cc", "gcc", "g++", "c++", "clang", "make", "python3", "node-gyp", "npm", "npx"];

const canUnshare = process.getuid?.() === 0 && spawnSync("unshare", ["--mount", "true"]).status === 0;

/** Every file `name` means on $PATH (a shell tries the next one when one cannot run). */
function allOnPath(name: string): string[] {
  return (process.env.PATH ?? "")
    .split(delimiter)
    .map((dir) => join(dir, name))
    .filter((path) => existsSync(path))
    .map((path) => realpathSync(path));
}

describe("npm run package", { skip: canUnshare ? false : "needs root and unshare(1) for a private mount namespace" }, () => {
  const work = tempDir("jobworker-package-test-");
  const opt = tempDir("jobworker-package-opt-");
  const home = tempDir("jobworker-package-home-");
  let tarball: string;
  const hiddenFiles = [...new Set(HIDDEN_TOOLS.flatMap(allOnPath))];

  /** argv, run in a new mount namespace where the host looks as if it had never built anything. */
  function hidden(argv: string[]): [string, string[]] {
    const script = [
      ...hiddenFiles.map((file) => `mount --bind /dev/null '${file}'`),
      `mount -t tmpfs -o size=1m,mode=0755 jobworker-hidden '${ROOT}'`,
      `mount --bind '${opt.path}' ${INSTALL}`,
      'exec "$@"',
    ].join("\n");
    return ["unshare", ["--mount", "--propagation", "private", "sh", "-ec", script, "sh", ...argv]];
  }
  function runHidden(argv: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
    const [cmd, args] = hidden(argv);
    return spawnSync(cmd, args, { encoding: "utf8", env, timeout: 60_000 });
  }
  const userEnv = { PATH: process.env.PATH, HOME: home.path, LANG: "C.UTF-8" };
  const cli = (args: string[]) => runHidden([COMMAND, ...args], userEnv);

  before(() => {
    tarball = join(work.path, NAME);
    // A given package is copied out first: it may lie in the checkout, which is hidden.
    if (process.env.JOBWORKER_PACKAGE) copyFileSync(process.env.JOBWORKER_PACKAGE, tarball);
    else execFileSync(process.execPath, [join(ROOT, "scripts", "package.mjs"), "--out-dir", work.path], { stdio: ["ignore", "ignore", "inherit"] });
  });
  after(() => {
    work.remove();
    opt.remove();
    home.remove();
  });

  it("is named for the version, architecture and Node.js major, and holds one folder with every native part", () => {
    if (process.env.JOBWORKER_PACKAGE) assert.equal(process.env.JOBWORKER_PACKAGE.split("/").at(-1), NAME);
    const entries = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8", maxBuffer: 64 << 20 }).trim().split("\n");
    assert.deepEqual(entries.filter((entry) => !entry.startsWith(`${FOLDER}/`)), []);
    for (const part of ["bin/jobworker", "dist/cli/main.js", "dist/native/jobworker-launcher", "node_modules/better-sqlite3/build/Release/better_sqlite3.node", "node_modules/fastify/package.json", "deploy/jobworker.service", "package.json"]) {
      assert.ok(entries.includes(`${FOLDER}/${part}`), `the package holds ${part}`);
    }
    // Production dependencies only, and none of better-sqlite3's sources.
    for (const absent of ["node_modules/typescript/", "node_modules/esbuild/", "node_modules/tsx/", "node_modules/better-sqlite3/deps/", "node_modules/better-sqlite3/src/"]) {
      assert.ok(!entries.includes(`${FOLDER}/${absent}`), `the package leaves out ${absent}`);
    }
  });

  it("the namespace hides the compilers, npm and the source tree", () => {
    assert.ok(hiddenFiles.length > 0 && hiddenFiles.some((file) => /gcc|cc/.test(file)), `a compiler to hide on this host: ${hiddenFiles.join(" ")}`);
    const probe = runHidden(["sh", "-c", `for tool in ${HIDDEN_TOOLS.join(" ")}; do "$tool" --version >/dev/null 2>&1 && echo "$tool runs"; done; ls -A '${ROOT}'; ls -A ${INSTALL}`]);
    assert.equal(probe.status, 0, probe.stderr);
    assert.equal(probe.stdout, "", "no build tool runs, and the checkout and /opt are empty");
  });

  it("installs as docs/deploy.md says, the unit's command verifies, and the command serves and runs an isolated job", { timeout: 150_000 }, async (t) => {
    const unpack = runHidden(["sh", "-ec", `tar -xzf '${tarball}' -C ${INSTALL}; ln -sfn ${FOLDER} ${INSTALL}/jobworker`]);
    assert.equal(unpack.status, 0, unpack.stderr);

    const [analyze] = allOnPath("systemd-analyze");
    if (analyze) {
      // The unit as packaged, unchanged: its ExecStart= names the link just made.
      const verify = runHidden([analyze, "verify", `${INSTALL}/jobworker/deploy/jobworker.service`]);
      const ours = `${verify.stdout}${verify.stderr}`.split("\n").filter((line) => line.includes("jobworker.service"));
      assert.deepEqual(ours, [], `systemd-analyze verify complains about the packaged unit:\n${verify.stderr}`);
    } else {
      t.diagnostic("systemd-analyze is not installed: the packaged unit was not verified (.ci/run installs systemd)");
    }

    // `serve` with the embedded defaults (a development PKI and data directory in $HOME).
    const [cmd, args] = hidden([COMMAND, "serve", "--listen", "127.0.0.1:0"]);
    const server = spawn(cmd, args, { env: userEnv, stdio: ["ignore", "ignore", "pipe"] });
    const exited = new Promise<number | null>((done) => server.on("exit", (code) => done(code)));
    let log = "";
    try {
      const port = await new Promise<number>((done, fail) => {
        const bound = setTimeout(() => fail(new Error(`serve did not listen within 60 s:\n${log}`)), 60_000);
        server.stderr!.on("data", (chunk: Buffer) => {
          log += chunk.toString();
          const match = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(log);
          if (match) {
            clearTimeout(bound);
            done(Number(match[1]));
          }
        });
        void exited.then((code) => fail(new Error(`serve exited (${code}):\n${log}`)));
      });
      assert.match(log, /created a development PKI/);
      const server_ = ["--server", `https://127.0.0.1:${port}`];
      const run = cli(["run", ...server_, "--", "sh", "-c", "echo hello from $(hostname); echo pid $$"]);
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}\n${log}`);
      assert.match(run.stdout, /^hello from /);
      const list = cli(["list", "--json", ...server_]);
      assert.equal(list.status, 0, list.stderr);
      const [job] = (JSON.parse(list.stdout) as { jobs: { exit_code: number; isolation?: { namespaces: string[]; confined?: boolean } }[] }).jobs;
      assert.equal(job?.exit_code, 0);
      assert.ok(job.isolation?.namespaces.includes("pid") && job.isolation.namespaces.includes("mount"), `the job was isolated: ${JSON.stringify(job.isolation)}`);
      assert.equal(job.isolation?.confined, true);
      // In its own PID namespace the job's shell is not a host pid.
      assert.match(run.stdout, /\npid [1-9]\n$/);
    } finally {
      server.kill("SIGTERM");
      assert.equal(await exited, 0, log);
    }
  });
});
