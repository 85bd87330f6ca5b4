#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test through tsx. Node 20's --test does not
// expand globs itself, so we list the files here. Extra arguments select files by
// substring: `npm test -- pki` runs only the files whose path contains "pki".
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith(".test.ts")) found.push(path);
  }
  return found;
}

const filters = process.argv.slice(2);
const files = findTests("test").filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
// A whole run takes minutes; this bound turns a hang into a failure that says what was
// still running, well within CI's own limit. (A test file that hangs is ended by
// --test-timeout; this is for what outlives it, such as a process holding a test
// file's output pipe open, for which the runner would wait for ever.)
const RUN_LIMIT_MS = Number(process.env.JOBWORKER_TEST_RUN_LIMIT_MS) || 45 * 60 * 1000;

// A test file's bound; raised where everything is slower (the emulated VM of test:vm).
const FILE_LIMIT_MS = Number(process.env.JOBWORKER_TEST_FILE_LIMIT_MS) || 180_000;

// Its own process group, so that the bound can end the runner and every test file at once.
// Naming a reporter replaces node's default (spec on a terminal, TAP elsewhere in Node 20),
// so spec is named: the same output in a terminal, in CI's log and on the VM's console.
const child = spawn(
  process.execPath,
  [
    "--import", "tsx", "--test", "--test-concurrency=2", `--test-timeout=${FILE_LIMIT_MS}`,
    "--test-reporter=spec", "--test-reporter-destination=stdout",
    `--test-reporter=${new URL("test-reporter-signals.mjs", import.meta.url).href}`, "--test-reporter-destination=stderr",
    ...files,
  ],
  { stdio: "inherit", detached: true },
);
const bound = setTimeout(() => {
  console.error(`\nrun-tests: the run passed its limit of ${RUN_LIMIT_MS / 60000} minutes; what still runs:`);
  spawnSync("ps", ["-eo", "pid,ppid,pgid,sid,stat,etime,wchan:24,args", "--forest"], { stdio: "inherit" });
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // gone already
  }
  process.exit(1);
}, RUN_LIMIT_MS);
child.on("exit", (code, signal) => {
  clearTimeout(bound);
  process.exit(code ?? (signal ? 1 : 0));
});
// In its own session the runner no longer hears the terminal: Ctrl-C and SIGTERM are passed on.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // gone already
    }
  });
}
