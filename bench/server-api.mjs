// Server benchmarks (issues 4 and 12), plain node on the built dist/ (`npm run build`
// first). Ratios against baselines measured in the same run:
//  1. jobs through the API (PUT /jobs, then GET stdout?follow=true until the job ended,
//     over one keep-alive mTLS connection) vs the library itself (create + wait);
//  2. GET /jobs/<id>/status req/s vs a bare fastify HTTPS route with the same TLS settings;
//  3. a storm of PUT /jobs from 16 keep-alive clients: acknowledged jobs/s vs raw
//     child_process.spawn("/bin/true") at concurrency 16 from a small fresh process
//     (support/spawn-batch.mjs: not this one, which holds a pool, a server and clients),
//     and the p99 latency of GET status meanwhile (goal: ratio >= 0.6, p99 < 20 ms).
// BENCH_JOBS (default 1000) and BENCH_REQUESTS (default 5000) size the runs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { Agent, request } from "undici";
import { spawn } from "node:child_process";
import { JobPool } from "../dist/index.js";
import { fileCreateProbe, spawnBatch, verdict } from "./support/baseline.mjs";
import { benchPki } from "./support/bench-pki.mjs";
import { startServer } from "../dist/server/index.js";
import { serverTlsOptions } from "../dist/server/tls-options.js";

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);
const CONCURRENCY = 8;

const work = mkdtempSync(join(tmpdir(), "jobworker-bench-server-"));
const { ca, serverCert, files, tls } = await benchPki(work);

const pool = await JobPool.open({ dataDir: join(work, "data") });
const server = await startServer({ ...files, pool, auditLog: false });
const agent = new Agent({ connect: tls, connections: CONCURRENCY });

async function timed(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function libraryJobs(n) {
  for (let i = 0; i < n; i++) await pool.wait(pool.create({ cmd: "/bin/true", owner: "bench" }));
}

async function apiJobs(n) {
  for (let i = 0; i < n; i++) {
    const put = await request(`${server.url}/jobs`, {
      dispatcher: agent,
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: '{"cmd":"/bin/true"}',
    });
    const { id } = await put.body.json();
    const follow = await request(`${server.url}/jobs/${id}/stdout?follow=true`, { dispatcher: agent });
    await follow.body.dump();
  }
}

async function hammer(url, dispatcher, n) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) {
        const res = await request(url, { dispatcher });
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
        await res.body.dump();
      }
    }),
  );
}

const STORM_CLIENTS = 16;
const STORM_JOBS = Number(process.env.BENCH_STORM_JOBS ?? 600);

/** The storm's baseline: raw spawns from a small fresh process, not from this one (which holds a pool, a server and their clients). */
async function rawSpawns(n) {
  return (await spawnBatch(n, STORM_CLIENTS, "/bin/true")).ms;
}

/** The storm's server, in a process of its own (bench/support/storm-server.mjs). */
async function startStormServer() {
  const child = spawn(process.execPath, [...(process.env.BENCH_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []), join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "support", "storm-server.mjs"), work], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise((resolve, reject) => {
    let text = "";
    child.stdout.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) resolve(text.split("\n")[0]);
    });
    child.once("exit", (code) => reject(new Error(`the storm server exited (${code})`)));
  });
  const info = JSON.parse(line);
  return { ...info, stop: () => new Promise((resolve) => { child.once("exit", resolve); child.stdin.end(); }) };
}

/** `n` PUT /jobs from 16 clients at once, while one more client times GET status back to back. */
async function storm(n, serverUrl, statusUrl, stormAgent, watcher) {
  const latencies = [];
  let storming = true;
  const watching = (async () => {
    while (storming) {
      const start = performance.now();
      const res = await request(statusUrl, { dispatcher: watcher });
      await res.body.dump();
      latencies.push(performance.now() - start);
    }
  })();
  let next = 0;
  const ids = [];
  const elapsed = await timed(() =>
    Promise.all(
      Array.from({ length: STORM_CLIENTS }, async () => {
        while (next++ < n) {
          const put = await request(`${serverUrl}/jobs`, { dispatcher: stormAgent, method: "PUT", headers: { "content-type": "application/json" }, body: '{"cmd":"/bin/true"}' });
          if (put.statusCode !== 201 && put.statusCode !== 200) throw new Error(`PUT /jobs answered ${put.statusCode}: ${await put.body.text()}`);
          ids.push((await put.body.json()).id);
        }
      }),
    ),
  );
  storming = false;
  await watching;
  // Untimed: let every acknowledged job end, so that none still runs in the server's
  // process while the next baseline is measured.
  for (const id of ids) await (await request(`${serverUrl}/jobs/${id}/status?wait=10`, { dispatcher: stormAgent })).body.dump();
  latencies.sort((a, b) => a - b);
  return { elapsed, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0, samples: latencies.length };
}

try {
  // 1. Job throughput: halves alternated so that load drift hits both alike.
  await libraryJobs(20);
  await apiJobs(20);
  let lib = 0;
  let api = 0;
  for (let round = 0; round < 2; round++) {
    lib += await timed(() => libraryJobs(JOBS / 2));
    api += await timed(() => apiJobs(JOBS / 2));
  }
  console.log(`jobs of /bin/true, each awaited:  library ${(JOBS / (lib / 1000)).toFixed(0)}/s, API over mTLS ${(JOBS / (api / 1000)).toFixed(0)}/s, ratio API/library ${(lib / api).toFixed(2)}`);

  // 2. Status requests vs a bare route with the same TLS settings.
  const id = pool.create({ cmd: "/bin/true", owner: "bench" });
  await pool.wait(id);
  const bare = Fastify({ https: serverTlsOptions({ ca: Buffer.from(ca.certPem), cert: Buffer.from(serverCert.certPem), key: Buffer.from(serverCert.keyPem) }) });
  bare.get("/status", async () => ({ status: "completed", exit_code: 0 }));
  await bare.listen({ host: "127.0.0.1", port: 0, listenTextResolver: () => "" });
  const bareAddress = bare.server.address();
  const bareUrl = `https://127.0.0.1:${typeof bareAddress === "object" && bareAddress ? bareAddress.port : 0}/status`;
  const bareAgent = new Agent({ connect: tls, connections: CONCURRENCY });
  const statusUrl = `${server.url}/jobs/${id}/status`;
  await hammer(statusUrl, agent, 200);
  await hammer(bareUrl, bareAgent, 200);
  let ours = 0;
  let baseline = 0;
  for (let round = 0; round < 2; round++) {
    ours += await timed(() => hammer(statusUrl, agent, REQUESTS / 2));
    baseline += await timed(() => hammer(bareUrl, bareAgent, REQUESTS / 2));
  }
  console.log(`GET status, ${CONCURRENCY} keep-alive connections: server ${(REQUESTS / (ours / 1000)).toFixed(0)} req/s, bare fastify ${(REQUESTS / (baseline / 1000)).toFixed(0)} req/s, ratio ${(baseline / ours).toFixed(2)}`);
  await bareAgent.close();
  await bare.close();

  // 3. A PUT storm against raw spawn at the same concurrency, alternated. The server runs
  // in its own process, as `serve` does; status is asked of one of its finished jobs.
  const stormServer = await startStormServer();
  const stormAgent = new Agent({ connect: tls, connections: STORM_CLIENTS });
  const watcher = new Agent({ connect: tls, connections: 1 });
  const seed = await request(`${stormServer.url}/jobs`, { dispatcher: stormAgent, method: "PUT", headers: { "content-type": "application/json" }, body: '{"cmd":"/bin/true"}' });
  const stormStatusUrl = `${stormServer.url}/jobs/${(await seed.body.json()).id}/status`;
  await storm(50, stormServer.url, stormStatusUrl, stormAgent, watcher);
  let raw = 0;
  let put = 0;
  let p99 = 0;
  let samples = 0;
  let probeUs = 0;
  for (let round = 0; round < 2; round++) {
    probeUs += fileCreateProbe(work);
    raw += await rawSpawns(STORM_JOBS / 2);
    const result = await storm(STORM_JOBS / 2, stormServer.url, stormStatusUrl, stormAgent, watcher);
    put += result.elapsed;
    p99 = Math.max(p99, result.p99);
    samples += result.samples;
  }
  const ratio = raw / put;
  console.log(`PUT /jobs storm, ${STORM_CLIENTS} keep-alive clients, server in its own process (${stormServer.isolated ? "isolated" : "not isolated"}, confinement ${stormServer.confinement}): ${(STORM_JOBS / (put / 1000)).toFixed(0)} acknowledged/s, raw spawn at concurrency ${STORM_CLIENTS} (small fresh process) ${(STORM_JOBS / (raw / 1000)).toFixed(0)}/s`);
  console.log(`  ratio PUT/raw spawn = ${ratio.toFixed(2)} (goal >= 0.6) ${verdict(ratio, 0.6)}; GET status p99 during the storm ${p99.toFixed(1)} ms over ${samples} requests (goal < 20 ms) ${p99 < 20 ? "OK" : "ABOVE GOAL"}; a new file on the data directory's file system costs ${(probeUs / 2).toFixed(0)} us meanwhile (each job's first process makes 2)`);
  await stormAgent.close();
  await watcher.close();
  await stormServer.stop();
} finally {
  await agent.close();
  await server.close();
  await pool.close();
  rmSync(work, { recursive: true, force: true });
}
