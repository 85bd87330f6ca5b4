// CLI start-up (issue 12): cold runs of the built `jobworker status ID`, `jobworker list`
// and `jobworker run -- true` against cold runs of a minimal node:https mTLS script doing
// the same GET to the same server, alternating, in the same run. Prints the medians, the
// ratios and PASS/MISS against the targets (1.3x for status and list, 1.6x for run).
// Plain node on the built dist/ (`npm run build` first); BENCH_CLI_RUNS (default 20)
// sets the number of runs of each.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 20);
const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "jobworker-bench-cli-"));
const home = join(work, "home");

/** Runs a command to its end; resolves to its wall time in ms, rejects on a failure. */
function timedRun(args, env = process.env) {
  return new Promise((done, fail) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", fail);
    child.on("exit", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) done({ ms, out });
      else fail(new Error(`${args.join(" ")} exited ${code}: ${out}`));
    });
  });
}

// A real server: the built binary on 127.0.0.1 port 0 with its development PKI.
const server = spawn(process.execPath, [CLI, "serve", "--home", home, "--listen", "127.0.0.1:0", "--audit-log", join(work, "audit.log")], {
  stdio: ["ignore", "ignore", "pipe"],
});
const url = await new Promise((done, fail) => {
  let err = "";
  server.stderr.on("data", (d) => {
    err += d;
    const match = /listening on (https:\/\/\S+)/.exec(err);
    if (match) done(match[1]);
  });
  server.on("exit", (code) => fail(new Error(`serve exited ${code}: ${err}`)));
});
const pki = join(home, "pki");
const env = { PATH: process.env.PATH, HOME: work, JOBWORKER_HOME: home, JOBWORKER_SERVER: url };

// The floor: the smallest correct mTLS GET Node can make, reading the same three files.
const floorScript = join(work, "floor.mjs");
writeFileSync(
  floorScript,
  `import { request } from "node:https";
import { readFileSync } from "node:fs";
const [url, ca, cert, key] = process.argv.slice(2);
request(url, { ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key), minVersion: "TLSv1.3" }, (res) => {
  let body = "";
  res.setEncoding("utf8").on("data", (d) => (body += d)).on("end", () => process.stdout.write(body + "\\n"));
}).end();
`,
);
const creds = [join(pki, "ca.pem"), join(pki, "clients/default.pem"), join(pki, "clients/default.key")];
const id = (await timedRun([CLI, "start", "--", "true"], env)).out.trim();
const floorStatus = [floorScript, `${url}/jobs/${id}`, ...creds];
const floorList = [floorScript, `${url}/jobs?limit=100`, ...creds];

const cases = [
  { name: "jobworker status ID", args: [CLI, "status", id], floor: floorStatus, target: 1.3 },
  { name: "jobworker list", args: [CLI, "list"], floor: floorList, target: 1.3 },
  { name: "jobworker run -- true", args: [CLI, "run", "--", "true"], floor: floorStatus, target: 1.6 },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

let bare = [];
try {
  // Warm the page cache and the server once; then alternate floor and command.
  for (const c of cases) {
    await timedRun(c.floor, env);
    await timedRun(c.args, env);
  }
  for (let i = 0; i < RUNS; i++) bare.push((await timedRun(["-e", "0"], env)).ms);
  console.log(`node -e 0: median ${median(bare).toFixed(1)} ms (${RUNS} runs)`);
  for (const c of cases) {
    const floor = [];
    const cmd = [];
    for (let i = 0; i < RUNS; i++) {
      floor.push((await timedRun(c.floor, env)).ms);
      cmd.push((await timedRun(c.args, env)).ms);
    }
    const ratio = median(cmd) / median(floor);
    console.log(
      `${c.name.padEnd(24)} median ${median(cmd).toFixed(1).padStart(6)} ms vs node:https floor ${median(floor).toFixed(1).padStart(6)} ms: ` +
        `ratio ${ratio.toFixed(2)} (target <= ${c.target}) ${ratio <= c.target ? "PASS" : "MISS"}`,
    );
  }
} finally {
  server.kill("SIGTERM");
  await new Promise((done) => server.on("exit", done));
  rmSync(work, { recursive: true, force: true });
}
