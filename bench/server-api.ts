// Server benchmarks (issue 4). Ratios against baselines measured in the same run:
//  1. jobs through the API (PUT /jobs, then GET stdout?follow=true until the job ended,
//     over one keep-alive mTLS connection) vs the library itself (create + wait);
//  2. GET /jobs/<id>/status req/s vs a bare fastify HTTPS route with the same TLS settings.
// BENCH_JOBS (default 1000) and BENCH_REQUESTS (default 5000) size the runs.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { Agent, request } from "undici";
import { JobPool } from "../src/index.js";
import { createCa, issueCert } from "../src/pki/index.js";
import { startServer } from "../src/server/index.js";
import { serverTlsOptions } from "../src/server/tls-options.js";

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);
const CONCURRENCY = 8;

const work = mkdtempSync(join(tmpdir(), "jobworker-bench-server-"));
const ca = await createCa();
const serverCert = await issueCert(ca, { kind: "server" });
const client = await issueCert(ca, { kind: "client", commonName: "bench" });
const files = { caFile: join(work, "ca.pem"), certFile: join(work, "server.pem"), keyFile: join(work, "server.key") };
writeFileSync(files.caFile, ca.certPem);
writeFileSync(files.certFile, serverCert.certPem);
writeFileSync(files.keyFile, serverCert.keyPem);
const tls = { ca: ca.certPem, cert: client.certPem, key: client.keyPem, servername: "localhost" };

const pool = await JobPool.open({ dataDir: join(work, "data") });
const server = await startServer({ ...files, pool, auditLog: false, maxRunningPerClient: 1000 });
const agent = new Agent({ connect: tls, connections: CONCURRENCY });

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function libraryJobs(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await pool.wait(pool.create({ cmd: "/bin/true", owner: "bench" }));
}

async function apiJobs(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const put = await request(`${server.url}/jobs`, {
      dispatcher: agent,
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: '{"cmd":"/bin/true"}',
    });
    const { id } = (await put.body.json()) as { id: string };
    const follow = await request(`${server.url}/jobs/${id}/stdout?follow=true`, { dispatcher: agent });
    await follow.body.dump();
  }
}

async function hammer(url: string, dispatcher: Agent, n: number): Promise<void> {
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
} finally {
  await agent.close();
  await server.close();
  await pool.close();
  rmSync(work, { recursive: true, force: true });
}
