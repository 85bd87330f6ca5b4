// What metrics cost the status path (issue 14), plain node on the built dist/ (`npm run
// build` first). Two servers on one pool in this process, alike but for `metrics`; GET
// /jobs/<id>/status over 8 keep-alive mTLS connections to each, in short rounds, each side
// first in half of them, so that drift hits both alike. The server with metrics on is
// scraped (GET /metrics as an admin) every BENCH_SCRAPE_MS (default 1000, 15 times
// Prometheus' usual rate) while it is measured.
//
// Figures: req/s (wall clock), and the CPU time this process spends per request (client
// and server together), which the other processes of a busy machine disturb far less
// than the wall clock. The ratio printed is CPU per request off/on (target >= 0.95:
// metrics cost the status path no more than 5%), besides the wall-clock ratio. A second
// server without metrics is measured in the same rounds: its ratio to the first (off/off)
// is the noise floor of this run, what "no difference" looks like on this machine.
// BENCH_REQUESTS (default 40000 per server) and BENCH_ROUNDS (default 64) size the run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { JobPool } from "../dist/index.js";
import { benchPki } from "./support/bench-pki.mjs";
import { startServer } from "../dist/server/index.js";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 40000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 64);
const CONCURRENCY = 8;
const SCRAPE_EVERY_MS = Number(process.env.BENCH_SCRAPE_MS ?? 1000);

const work = mkdtempSync(join(tmpdir(), "jobworker-bench-metrics-"));
const { files, tls } = await benchPki(work);

const pool = await JobPool.open({ dataDir: join(work, "data"), isolation: false });
const common = { ...files, pool, auditLog: false, admins: ["bench"] };
const on = await startServer({ ...common });
const off = await startServer({ ...common, metrics: false });
const offAgain = await startServer({ ...common, metrics: false });

/** Wall-clock and CPU milliseconds (user + system, this process) that `fn` takes. */
async function timed(fn) {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  await fn();
  const cpu = process.cpuUsage(cpuStart);
  return { wall: performance.now() - wallStart, cpu: (cpu.user + cpu.system) / 1000 };
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

/**
 * Scrapes `url` every SCRAPE_EVERY_MS of the time it runs: paused between the metered
 * server's rounds, it carries the time already waited over to the next round.
 */
function scraper(url, dispatcher) {
  let timer;
  let waitedMs = 0;
  let since = 0;
  let inFlight = Promise.resolve();
  let scrapes = 0;
  const scrape = async () => {
    const res = await request(url, { dispatcher });
    if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
    await res.body.dump();
    scrapes++;
  };
  const arm = () => {
    since = performance.now();
    timer = setTimeout(() => {
      waitedMs = 0;
      inFlight = inFlight.then(scrape);
      arm();
    }, SCRAPE_EVERY_MS - waitedMs);
  };
  return {
    start: arm,
    async pause() {
      clearTimeout(timer);
      waitedMs += performance.now() - since;
      await inFlight;
      return scrapes;
    },
  };
}

const agentOn = new Agent({ connect: tls, connections: CONCURRENCY });
const agentOff = new Agent({ connect: tls, connections: CONCURRENCY });
const agentOffAgain = new Agent({ connect: tls, connections: CONCURRENCY });
const scrapeAgent = new Agent({ connect: tls, connections: 1 });
try {
  // Jobs of a few owners, so that the metered server's counters have values to write
  // (it counts the pool's jobs, however started).
  for (let i = 0; i < 50; i++) await pool.wait(pool.create({ cmd: "/bin/true", owner: `owner-${i % 5}` }));
  const id = pool.create({ cmd: "/bin/true", owner: "bench" });
  await pool.wait(id);
  const path = `/jobs/${id}/status`;
  // A long warm-up (JIT, TLS sessions, caches): the first thousands of requests are much slower.
  await hammer(on.url + path, agentOn, 3000);
  await hammer(off.url + path, agentOff, 3000);
  await hammer(offAgain.url + path, agentOffAgain, 3000);

  const per = REQUESTS / ROUNDS;
  const totals = { on: { wall: 0, cpu: 0 }, off: { wall: 0, cpu: 0 }, offAgain: { wall: 0, cpu: 0 } };
  const scraping = scraper(`${on.url}/metrics`, scrapeAgent);
  let scrapes = 0;
  const measure = {
    off: () => timed(() => hammer(off.url + path, agentOff, per)),
    offAgain: () => timed(() => hammer(offAgain.url + path, agentOffAgain, per)),
    async on() {
      scraping.start();
      const t = await timed(() => hammer(on.url + path, agentOn, per));
      scrapes = await scraping.pause();
      return t;
    },
  };
  // Each side first, second and third in turn, so that drift hits all alike.
  const orders = [["off", "on", "offAgain"], ["on", "offAgain", "off"], ["offAgain", "off", "on"]];
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of orders[round % orders.length]) {
      const t = await measure[side]();
      totals[side].wall += t.wall;
      totals[side].cpu += t.cpu;
    }
  }
  const perSecond = (side) => (REQUESTS / (totals[side].wall / 1000)).toFixed(0);
  const cpuPerRequest = (side) => ((totals[side].cpu * 1000) / REQUESTS).toFixed(0);
  const cpuRatio = totals.off.cpu / totals.on.cpu;
  const wallRatio = totals.off.wall / totals.on.wall;
  const floorRatio = totals.off.cpu / totals.offAgain.cpu;
  console.log(
    `GET status, ${CONCURRENCY} keep-alive connections, ${ROUNDS} alternated rounds: metrics on ${perSecond("on")} req/s, ${cpuPerRequest("on")} µs CPU/request (${scrapes} scrapes of /metrics meanwhile); metrics off ${perSecond("off")} req/s, ${cpuPerRequest("off")} µs CPU/request`,
  );
  console.log(`  ratio on/off: CPU per request ${cpuRatio.toFixed(3)} (target >= 0.95) ${cpuRatio >= 0.95 ? "OK" : "BELOW TARGET"}; wall clock ${wallRatio.toFixed(3)}`);
  console.log(`  noise floor: two servers without metrics, CPU per request ${floorRatio.toFixed(3)} (1 would be no noise at all)`);

  const page = await request(`${on.url}/metrics`, { dispatcher: scrapeAgent });
  const bytes = (await page.body.text()).length;
  const scrape = await timed(async () => {
    for (let i = 0; i < 20; i++) {
      const res = await request(`${on.url}/metrics`, { dispatcher: scrapeAgent });
      await res.body.dump();
    }
  });
  console.log(`  one scrape of /metrics: ${(scrape.wall / 20).toFixed(2)} ms, ${(scrape.cpu / 20).toFixed(2)} ms CPU, ${bytes} bytes`);
} finally {
  await Promise.all([agentOn.close(), agentOff.close(), agentOffAgain.close(), scrapeAgent.close()]);
  await on.close();
  await Promise.all([off.close(), offAgain.close()]);
  await pool.close();
  rmSync(work, { recursive: true, force: true });
}
