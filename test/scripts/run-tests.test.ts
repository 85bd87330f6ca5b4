// scripts/run-tests.mjs, the runner behind `npm test`: a test file whose process dies of
// a signal is named with it, since node:test's spec reporter says only "test failed".
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { tempDir } from "../helpers/temp-dir.js";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** Runs run-tests.mjs in a project of its own whose test/ holds `files`. */
function runTests(files: Record<string, string>) {
  const project = tempDir("jobworker-run-tests-");
  try {
    mkdirSync(join(project.path, "test"));
    symlinkSync(join(ROOT, "node_modules"), join(project.path, "node_modules"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(project.path, "test", name), text);
    // Without NODE_TEST_CONTEXT, which would make the inner runner think it is nested in ours.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    return spawnSync(process.execPath, [join(ROOT, "scripts/run-tests.mjs")], { cwd: project.path, env, encoding: "utf8", timeout: 60_000 });
  } finally {
    project.remove();
  }
}

/** A test file with one test, `name`, whose body is `body`. */
const testFile = (name: string, body = "") => `import { test } from "node:test";\ntest(${JSON.stringify(name)}, () => { ${body} });\n`;
const PASSES = testFile("passes");

describe("scripts/run-tests.mjs", () => {
  it("names a test file that died of a signal, and fails the run", () => {
    const run = runTests({
      "crash.test.ts": testFile("crashes", `process.kill(process.pid, "SIGSEGV");`),
      "fine.test.ts": PASSES,
    });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /run-tests: the process of \S*crash\.test\.ts died of SIGSEGV/);
    assert.doesNotMatch(run.stderr, /fine\.test\.ts/);
    assert.match(run.stdout, /ℹ pass 1/);
  });

  it("says nothing more for failing tests whose process ended by itself", () => {
    const run = runTests({
      "fails.test.ts": testFile("fails", `throw new Error("no");`),
      "fine.test.ts": PASSES,
    });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.doesNotMatch(run.stderr, /died of/);
    assert.match(run.stdout, /✖ fails/);
  });

  it("passes a run whose tests pass", () => {
    const run = runTests({ "fine.test.ts": PASSES });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.equal(run.stderr, "");
  });
});
