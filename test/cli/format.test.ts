// Pure helpers of the client CLI: status summaries, the list table, option precedence,
// run's exit codes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatAge, formatCommand, formatJobTable, summarizeStatus } from "../../src/cli/format/job.js";
import { DEFAULT_SERVER_URL, resolveClientSettings } from "../../src/cli/options/client.js";
import { exitCodeOf } from "../../src/cli/commands/run.js";
import type { JobRecord } from "../../src/client/index.js";

describe("client CLI helpers", () => {
  it("summarizes statuses", () => {
    assert.equal(summarizeStatus({ status: "running" }), "running");
    assert.equal(summarizeStatus({ status: "completed", exit_code: 0 }), "completed (exit 0)");
    assert.equal(summarizeStatus({ status: "completed", exit_code: 137, signal: "SIGKILL" }), "completed (killed by SIGKILL, exit 137)");
    assert.equal(summarizeStatus({ status: "error", error_msg: "command not found: foo" }), "error: command not found: foo");
    assert.equal(
      summarizeStatus({ status: "completed", exit_code: 137, signal: "SIGKILL", oom_killed: true }),
      "completed (out of memory: killed by SIGKILL, exit 137)",
    );
  });

  it("formats ages, commands and an aligned table", () => {
    const now = Date.parse("2025-01-02T00:00:00Z");
    assert.equal(formatAge("2025-01-01T23:59:55Z", now), "5s");
    assert.equal(formatAge("2025-01-01T23:57:00Z", now), "3m");
    assert.equal(formatAge("2025-01-01T21:00:00Z", now), "3h");
    assert.equal(formatAge("2024-12-28T00:00:00Z", now), "5d");
    assert.equal(formatCommand("sh", ["-c", "echo 'hi' there", ""]), `sh -c 'echo '\\''hi'\\'' there' ''`);
    assert.equal(formatCommand("printf", ["a\nb"]), "printf 'a\\x0ab'");
    const jobs = [
      { id: "c", owner: "alice", cmd: "yes", args: [], status: "error", error_msg: "output limit reached", truncated: true, created_at: "2025-01-02T00:00:00Z", stdout_bytes: 9, stderr_bytes: 0 },
      { id: "b", owner: "bob", cmd: "sleep", args: ["9"], status: "running", created_at: "2025-01-01T23:59:00Z", stdout_bytes: 0, stderr_bytes: 0 },
      { id: "a", owner: "ci runner", cmd: "x", args: [], status: "completed", exit_code: 143, signal: "SIGTERM", created_at: "2025-01-01T00:00:00Z", stdout_bytes: 0, stderr_bytes: 0 },
    ] satisfies JobRecord[];
    assert.equal(
      formatJobTable(jobs, { now }),
      "ID  STATUS             EXIT         AGE  COMMAND\n" +
        "c   error (truncated)  -            0s   yes\n" +
        "b   running            -            1m   sleep 9\n" +
        "a   completed          143 SIGTERM  1d   x\n",
    );
  });

  it("adds an OWNER column when a listing spans identities (list --owner, --all-owners)", () => {
    const now = Date.parse("2025-01-02T00:00:00Z");
    const jobs = [
      { id: "b", owner: "bob", cmd: "sleep", args: ["9"], status: "running", created_at: "2025-01-01T23:59:00Z", stdout_bytes: 0, stderr_bytes: 0 },
      { id: "a", owner: "ci runner", cmd: "x", args: [], status: "completed", exit_code: 0, created_at: "2025-01-01T00:00:00Z", stdout_bytes: 0, stderr_bytes: 0 },
    ] satisfies JobRecord[];
    assert.equal(
      formatJobTable(jobs, { now, showOwner: true }),
      "OWNER      ID  STATUS     EXIT  AGE  COMMAND\n" +
        "bob        b   running    -     1m   sleep 9\n" +
        "ci runner  a   completed  0     1d   x\n",
    );
  });

  it("resolves options: flags beat environment beat defaults", () => {
    const env = { JOBWORKER_HOME: "/h", JOBWORKER_SERVER: "https://env:1", JOBWORKER_CA: "/env/ca.pem" };
    assert.deepEqual(resolveClientSettings({}, {}).url, DEFAULT_SERVER_URL);
    assert.deepEqual(resolveClientSettings({}, env), {
      url: "https://env:1",
      caFile: "/env/ca.pem",
      certFile: "/h/pki/clients/default.pem",
      keyFile: "/h/pki/clients/default.key",
      home: "/h",
    });
    assert.deepEqual(resolveClientSettings({ server: "https://flag:2", ca: "/f/ca.pem", home: "/fh", key: "/k" }, env), {
      url: "https://flag:2",
      caFile: "/f/ca.pem",
      certFile: "/fh/pki/clients/default.pem",
      keyFile: "/k",
      home: "/fh",
    });
    assert.equal(resolveClientSettings({}, { JOBWORKER_SERVER: "" }).url, DEFAULT_SERVER_URL);
  });

  it("maps a finished job to run's exit code", () => {
    assert.equal(exitCodeOf({ status: "completed", exit_code: 3 }), 3);
    assert.equal(exitCodeOf({ status: "completed", exit_code: 130 }), 130);
    assert.equal(exitCodeOf({ status: "error", error_code: "COMMAND_NOT_FOUND" }), 127);
    assert.equal(exitCodeOf({ status: "error", error_code: "PERMISSION_DENIED" }), 126);
    assert.equal(exitCodeOf({ status: "error", error_code: "NOT_EXECUTABLE" }), 126);
    assert.equal(exitCodeOf({ status: "error", error_code: "CWD_NOT_FOUND" }), 1);
  });
});
