// The metrics flags of the built `jobworker serve`: --admin and GET /metrics over mTLS
// (curl with the development PKI's client), --metrics-listen in plain HTTP on loopback
// (curl without a certificate), and the one-line refusals of a non-loopback address.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { CLI, serve } from "./fixtures.js";

const run = promisify(execFile);

describe("serve --metrics-listen and --admin", () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), "jobworker-serve-metrics-"));
  });
  after(async () => rm(home, { recursive: true, force: true }));

  it("serves /metrics to the admin over mTLS, and in plain HTTP on the loopback address it names", async () => {
    const s = await serve(home, ["--listen", "127.0.0.1:0", "--admin", "default", "--metrics-listen", "127.0.0.1:0"]);
    try {
      const plainUrl = /metrics: also in plain HTTP, without authentication, at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(s.stderr())?.[1];
      assert.ok(plainUrl, s.stderr());
      const plain = await run("curl", ["-sS", "-w", "\n%{http_code}", plainUrl]);
      assert.match(plain.stdout, /^jobworker_jobs_started_total 0$/m);
      assert.match(plain.stdout, /\n200$/);
      const pki = join(home, "pki");
      const tls = await run("curl", ["-sS", "-w", "\n%{http_code}", "--cacert", join(pki, "ca.pem"), "--cert", join(pki, "clients/default.pem"), "--key", join(pki, "clients/default.key"), `${s.env.JOBWORKER_SERVER}/metrics`]);
      assert.match(tls.stdout, /^# TYPE jobworker_running_jobs gauge$/m);
      assert.match(tls.stdout, /\n200$/);
    } finally {
      s.child.kill("SIGTERM");
    }
    assert.equal(await s.exited, 0);
  });

  it("refuses a non-loopback --metrics-listen in one line (exit 2) unless --metrics-listen-any", () => {
    const refused = spawnSync(process.execPath, [CLI, "serve", "--home", home, "--no-isolation", "--listen", "127.0.0.1:0", "--metrics-listen", "0.0.0.0:0"], { encoding: "utf8" });
    assert.equal(refused.status, 2, refused.stderr);
    assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    assert.match(refused.stderr, /0\.0\.0\.0 is not a loopback address.*--metrics-listen-any/);
    const alone = spawnSync(process.execPath, [CLI, "serve", "--home", home, "--metrics-listen-any"], { encoding: "utf8" });
    assert.equal(alone.status, 2, alone.stderr);
    assert.match(alone.stderr, /--metrics-listen-any needs --metrics-listen/);
  });

  it("serves a non-loopback address with --metrics-listen-any", async () => {
    const s = await serve(home, ["--listen", "127.0.0.1:0", "--metrics-listen", "0.0.0.0:0", "--metrics-listen-any"]);
    try {
      const port = /metrics: also in plain HTTP, without authentication, at http:\/\/0\.0\.0\.0:(\d+)\/metrics/.exec(s.stderr())?.[1];
      assert.ok(port, s.stderr());
      const plain = await run("curl", ["-sS", `http://127.0.0.1:${port}/metrics`]);
      assert.match(plain.stdout, /^jobworker_disk_full 0$/m);
    } finally {
      s.child.kill("SIGTERM");
    }
    assert.equal(await s.exited, 0);
  });
});
