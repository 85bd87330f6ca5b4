// `jobworker … | head -1`: when the reader of our stdout has gone, the built binary ends
// like a writer killed by SIGPIPE (exit 141), quietly, instead of crashing with an EPIPE
// stack trace.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { CLI } from "../e2e/fixtures.js";

/**
 * Runs the built CLI with a stdout pipe whose reading end we close synchronously, right
 * after the spawn returns: the child is still starting Node, so every write it makes meets
 * a closed pipe. (Were the order ever different, the write would succeed and the exit code
 * 0 would fail the test: it cannot pass by luck.)
 */
function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, JOBWORKER_HOME: "/nonexistent-jobworker-home" } });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stderr }));
  });
}

describe("stdout closed by its reader (… | head -1)", () => {
  for (const args of [["--help"], ["run", "--help"], ["list", "--help"], ["serve", "--help"], ["certs", "init", "--help"], ["--version"]]) {
    it(`jobworker ${args.join(" ")}: exit 141, nothing on stderr`, async () => {
      const r = await runWithClosedStdout(args);
      assert.equal(r.stderr, "");
      assert.equal(r.code, 141);
    });
  }
});
