// GET /metrics through real mTLS clients (undici): the Prometheus text format for admins,
// 403 ADMIN_REQUIRED for anyone else, and the values moving as jobs start and end, as
// requests are answered and as handshakes are refused. The plain-HTTP listener
// (`metricsListen`) and its refusal of a non-loopback address are at the end.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { createCa, issueCert } from "../../src/pki/index.js";
import { ServerConfigError, startServer } from "../../src/server/index.js";
import { isLoopback } from "../../src/server/metrics/metrics-listener.js";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";

/** The value of one series in a Prometheus text page (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const LISTED = [
  "jobworker_jobs",
  "jobworker_jobs_started_total",
  "jobworker_jobs_ended_total",
  "jobworker_job_start_seconds",
  "jobworker_running_jobs",
  "jobworker_output_bytes_total",
  "jobworker_http_requests_total",
  "jobworker_tls_handshake_failures_total",
  "jobworker_disk_full",
  // prom-client's default process metrics
  "process_cpu_seconds_total",
  "nodejs_eventloop_lag_seconds",
];

/** Polls until `check` holds, for at most 10 s (the server counts a refused handshake after the client has seen it). */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met within 10 s");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("GET /metrics", () => {
  let h: Harness;
  let admin: ReturnType<typeof agentFor>;
  let user: ReturnType<typeof agentFor>;
  const scrape = async () => {
    const answer = await call(admin, `${h.server.url}/metrics`);
    assert.equal(answer.status, 200, answer.text);
    return answer.text;
  };
  before(async () => {
    h = await startHarness({ admins: ["alice"] });
    admin = agentFor(h.pki.ca.certPem, h.alice);
    user = agentFor(h.pki.ca.certPem, h.bob);
  });
  after(async () => {
    await Promise.all([admin?.close(), user?.close()]);
    await h?.close();
  });

  it("serves admins the Prometheus text format with every listed metric and the process metrics", async () => {
    const answer = await call(admin, `${h.server.url}/metrics`);
    assert.equal(answer.status, 200, answer.text);
    assert.match(String(answer.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    for (const name of LISTED) assert.match(answer.text, new RegExp(`^# TYPE ${name} `, "m"), name);
    for (const outcome of ["completed_zero", "completed_nonzero", "signaled", "oom", "error", "timed_out"]) {
      assert.match(answer.text, new RegExp(`^jobworker_jobs_ended_total\\{outcome="${outcome}"\\} `, "m"), outcome);
    }
    assert.equal(sample(answer.text, "jobworker_disk_full"), 0);
  });

  it("refuses every other identity with 403 ADMIN_REQUIRED", async () => {
    const answer = await call(user, `${h.server.url}/metrics`);
    assert.equal(answer.status, 403, answer.text);
    assert.equal(answer.json.code, "ADMIN_REQUIRED");
    assert.match(answer.json.error, /admins/);
    assert.doesNotMatch(answer.text, /jobworker_/);
  });

  it("counts jobs as they start and end, by outcome, with the owner's running jobs and their output", async () => {
    const before = await scrape();
    const put = async (body: object) => {
      const answer = await call(user, `${h.server.url}/jobs`, "PUT", body);
      assert.equal(answer.status, 200, answer.text);
      return answer.json.id as string;
    };
    const sleeper = await put({ cmd: "sleep", args: ["30"] });
    let now = await scrape();
    assert.equal(sample(now, "jobworker_jobs_started_total"), sample(before, "jobworker_jobs_started_total") + 1);
    assert.equal(sample(now, 'jobworker_running_jobs{owner="bob"}'), 1);
    assert.equal(sample(now, 'jobworker_jobs{state="running"}'), sample(before, 'jobworker_jobs{state="running"}') + 1);
    assert.equal(sample(now, "jobworker_job_start_seconds_count"), sample(before, "jobworker_job_start_seconds_count") + 1);
    // A real duration: a start takes some time (it was always 0, every start in the first bucket).
    assert.ok(sample(now, "jobworker_job_start_seconds_sum") > sample(before, "jobworker_job_start_seconds_sum"), "the start took some time");

    const ids = [
      await put({ cmd: "sh", args: ["-c", "printf hello; printf 123 >&2"] }),
      await put({ cmd: "false" }),
      await put({ cmd: "sleep", args: ["30"], timeout_ms: 100 }),
      await put({ cmd: "jobworker-no-such-command" }),
    ];
    for (const id of ids) await waitEnded(user, h.server.url, id);
    assert.equal((await call(user, `${h.server.url}/jobs/${sleeper}/stop`, "POST")).status, 200);
    now = await scrape();
    assert.equal(sample(now, "jobworker_jobs_started_total"), sample(before, "jobworker_jobs_started_total") + 5);
    for (const [outcome, more] of [["completed_zero", 1], ["completed_nonzero", 1], ["timed_out", 1], ["error", 1], ["signaled", 1], ["oom", 0]] as const) {
      const series = `jobworker_jobs_ended_total{outcome="${outcome}"}`;
      assert.equal(sample(now, series), sample(before, series) + more, series);
    }
    // Nothing of bob's runs any more: his series is gone, not 0.
    assert.doesNotMatch(now, /jobworker_running_jobs\{owner="bob"\}/);
    assert.equal(sample(now, 'jobworker_output_bytes_total{stream="stdout"}'), sample(before, 'jobworker_output_bytes_total{stream="stdout"}') + 5);
    assert.equal(sample(now, 'jobworker_output_bytes_total{stream="stderr"}'), sample(before, 'jobworker_output_bytes_total{stream="stderr"}') + 3);
    assert.equal(sample(now, 'jobworker_jobs{state="error"}'), sample(before, 'jobworker_jobs{state="error"}') + 1);
    assert.equal(sample(now, 'jobworker_jobs{state="completed"}'), sample(before, 'jobworker_jobs{state="completed"}') + 4);
    // The failed start never ran: its start is not timed.
    assert.equal(sample(now, "jobworker_job_start_seconds_count"), sample(before, "jobworker_job_start_seconds_count") + 4);
  });

  it("counts requests by route template and status, never by job id", async () => {
    const id = (await call(user, `${h.server.url}/jobs`, "PUT", { cmd: "true" })).json.id as string;
    await waitEnded(user, h.server.url, id);
    await call(user, `${h.server.url}/no/such/route/${id}`);
    const before = await scrape();
    const statusSeries = 'jobworker_http_requests_total{route="/jobs/:id/status",code="200"}';
    const unmatched = 'jobworker_http_requests_total{route="unmatched",code="404"}';
    assert.ok(sample(before, statusSeries) >= 1, before);
    assert.ok(sample(before, unmatched) >= 1, before);
    await call(user, `${h.server.url}/jobs/${id}/status`);
    await call(user, `${h.server.url}/jobs/00000000-0000-4000-8000-000000000000/status`);
    const now = await scrape();
    assert.equal(sample(now, statusSeries), sample(before, statusSeries) + 1);
    const notFound = 'jobworker_http_requests_total{route="/jobs/:id/status",code="404"}';
    assert.equal(sample(now, notFound), sample(before, notFound) + 1);
    assert.ok(!now.includes(id), "a job id appears in the metrics");
    assert.ok(!now.includes("/no/such/route"), "a raw URL appears in the metrics");
    assert.ok(sample(now, 'jobworker_http_requests_total{route="/metrics",code="200"}') >= 1);
  });

  it("counts refused TLS handshakes by reason", async () => {
    const series = (reason: string) => `jobworker_tls_handshake_failures_total{reason="${reason}"}`;
    const before = await scrape();
    const stranger = await issueCert(await createCa(), { kind: "client", commonName: "mallory" });
    const strangerAgent = agentFor(h.pki.ca.certPem, stranger);
    await assert.rejects(call(strangerAgent, `${h.server.url}/jobs`));
    await strangerAgent.close();
    const anonymous = agentFor(h.pki.ca.certPem);
    await assert.rejects(call(anonymous, `${h.server.url}/jobs`));
    await anonymous.close();
    await eventually(async () => {
      const now = await scrape();
      return sample(now, series("unknown_ca")) === sample(before, series("unknown_ca")) + 1 && sample(now, series("no_certificate")) === sample(before, series("no_certificate")) + 1;
    });
  });

  it("is not served at all with metrics: false", async () => {
    const off = await startHarness({ admins: ["alice"], metrics: false });
    try {
      const agent = agentFor(off.pki.ca.certPem, off.alice);
      const answer = await call(agent, `${off.server.url}/metrics`);
      assert.equal(answer.status, 404, answer.text);
      assert.equal(answer.json.code, "NOT_FOUND");
      await agent.close();
    } finally {
      await off.close();
    }
  });

  it("reports a full data disk as jobworker_disk_full 1, and 0 again once space is back", async (t) => {
    const base = mkdtempSync(join(tmpdir(), "jobworker-metrics-"));
    const mountPoint = join(base, "small-disk");
    mkdirSync(mountPoint);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint]);
    if (mounted.status !== 0) {
      rmSync(base, { recursive: true, force: true });
      t.skip(`cannot mount a tmpfs here (needs root): ${mounted.stderr.toString().trim()}`);
      return;
    }
    let small: Harness | undefined;
    try {
      small = await startHarness({ pool: { dataDir: join(mountPoint, "data") }, admins: ["alice"] });
      const agent = agentFor(small.pki.ca.certPem, small.alice);
      const url = `${small.server.url}/metrics`;
      assert.equal(sample((await call(agent, url)).text, "jobworker_disk_full"), 0);
      const filler = join(mountPoint, "filler");
      // head stops at ENOSPC with a non-zero status, as expected.
      spawnSync("sh", ["-c", `head -c ${64 * 1024 * 1024} /dev/zero > '${filler}'`]);
      assert.equal(sample((await call(agent, url)).text, "jobworker_disk_full"), 1);
      rmSync(filler);
      assert.equal(sample((await call(agent, url)).text, "jobworker_disk_full"), 0);
      await agent.close();
    } finally {
      await small?.close();
      spawnSync("umount", [mountPoint]);
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe("metrics in plain HTTP (metricsListen)", () => {
  it("serves GET /metrics and GET /healthz on a loopback address without a certificate, and nothing else", async () => {
    const h = await startHarness({ metricsListen: { host: "127.0.0.1", port: 0 } });
    try {
      assert.match(h.server.metricsUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await request(h.server.metricsUrl!);
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
      assert.match(await res.body.text(), /^jobworker_jobs_started_total 0$/m);
      // GET /healthz too, the API's answer, for probes that have no certificate.
      const health = await request(h.server.metricsUrl!.replace(/\/metrics$/, "/healthz"));
      assert.equal(health.statusCode, 200);
      assert.match(String(health.headers["content-type"]), /^application\/json/);
      assert.deepEqual(await health.body.json(), { status: "ok" });
      const healthPost = await request(h.server.metricsUrl!.replace(/\/metrics$/, "/healthz"), { method: "POST" });
      assert.equal(healthPost.statusCode, 405);
      await healthPost.body.dump();
      const other = await request(h.server.metricsUrl!.replace(/\/metrics$/, "/jobs"));
      assert.equal(other.statusCode, 404);
      assert.equal(((await other.body.json()) as { code: string }).code, "NOT_FOUND");
      const post = await request(h.server.metricsUrl!, { method: "POST" });
      assert.equal(post.statusCode, 405);
      assert.equal(post.headers.allow, "GET");
      await post.body.dump();
    } finally {
      await h.close();
    }
    // Closed with the server.
    await assert.rejects(request(h.server.metricsUrl!), /ECONNREFUSED/);
  });

  it("refuses a non-loopback address unless anyAddress, before anything is opened", async () => {
    const h = await startHarness({ metricsListen: { host: "0.0.0.0", port: 0, anyAddress: true } });
    try {
      assert.match(h.server.metricsUrl ?? "", /^http:\/\/0\.0\.0\.0:\d+\/metrics$/);
      const dataDir = join(h.pki.dir, "other-data");
      await assert.rejects(
        startServer({ caFile: h.pki.caFile, certFile: h.pki.certFile, keyFile: h.pki.keyFile, pool: { dataDir }, metricsListen: { host: "0.0.0.0", port: 9464 } }),
        (err: unknown) => err instanceof ServerConfigError && /0\.0\.0\.0 is not a loopback address/.test(err.message) && /--metrics-listen-any/.test(err.hint ?? ""),
      );
      assert.ok(!existsSync(dataDir), "the refused server opened its data directory");
    } finally {
      await h.close();
    }
  });

  it("takes 127.0.0.0/8, ::1 and localhost for loopback, and nothing else", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"]) assert.ok(isLoopback(host), host);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "::ffff:10.0.0.1", "example.com", "128.0.0.1", "::2"]) assert.ok(!isLoopback(host), host);
  });
});
