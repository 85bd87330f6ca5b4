// Usage errors of the built binary read like every other jobworker error: one line on
// stderr, "jobworker: " first, the fix and the command's --help in parentheses, exit 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { CLI } from "../e2e/fixtures.js";

function usage(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, JOBWORKER_HOME: "/nonexistent-jobworker-home" } });
  assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^jobworker: [^\n]+\n$/, r.stderr);
  return r.stderr;
}

describe("usage errors", () => {
  it("serve --port points at --listen", () => {
    assert.equal(
      usage(["serve", "--port", "8443"]),
      "jobworker: unknown option '--port' (use --listen PORT for 127.0.0.1:PORT, or --listen HOST:PORT; see `jobworker serve --help`)\n",
    );
  });
  it("a misspelt command or option gets commander's suggestion, on the same line", () => {
    assert.equal(usage(["sttus", "x"]), "jobworker: unknown command 'sttus' (did you mean status? see `jobworker --help`)\n");
    assert.equal(usage(["list", "--jsn"]), "jobworker: unknown option '--jsn' (did you mean --json? see `jobworker list --help`)\n");
  });
  it("an unknown option before CMD of run or start: put -- before CMD", () => {
    assert.equal(usage(["run", "-la"]), "jobworker: unknown option '-la' (if -la is for the job, put -- before CMD: jobworker run -- CMD -la; see `jobworker run --help`)\n");
    assert.equal(
      usage(["start", "--jsno", "--", "true"]),
      "jobworker: unknown option '--jsno' (did you mean --json? if --jsno is for the job, put -- before CMD: jobworker start -- CMD --jsno; see `jobworker start --help`)\n",
    );
  });
  it("a missing argument names the subcommand's help", () => {
    assert.equal(usage(["status"]), "jobworker: missing required argument 'id' (see `jobworker status --help`)\n");
    assert.equal(usage(["certs", "issue"]), "jobworker: missing required argument 'name' (see `jobworker certs issue --help`)\n");
  });
  it("a bad option value says what is expected, in words", () => {
    assert.equal(
      usage(["list", "--limit", "0"]),
      "jobworker: option '--limit <n>' argument '0' is invalid: expected a whole number from 1 to 1000 (see `jobworker list --help`)\n",
    );
    assert.match(usage(["serve", "--listen", "localhost"]), /^jobworker: option '--listen <host:port>' argument 'localhost' is invalid: expected PORT, HOST:PORT or \[IPV6\]:PORT/);
  });
});
