// A jobworker server in a process of its own, for bench/server-api.mjs's PUT storm: the
// clients must not share its thread, or their work would count as the server's latency.
// Usage: node storm-server.mjs WORKDIR (CA, certificate and key written there by the
// caller); prints the server's URL, then serves until stdin closes.
import { join } from "node:path";
import { JobPool } from "../../dist/index.js";
import { startServer } from "../../dist/server/index.js";

const work = process.argv[2];
const pool = await JobPool.open({ dataDir: join(work, "storm-data"), ...(process.env.BENCH_STORM_NO_ISOLATION && { isolation: false }) });
const server = await startServer({
  caFile: join(work, "ca.pem"),
  certFile: join(work, "server.pem"),
  keyFile: join(work, "server.key"),
  pool,
  auditLog: false,
});
process.stdout.write(`${JSON.stringify({ url: server.url, isolated: pool.isolation().enabled, confinement: pool.confinement().mode })}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await server.close();
  await pool.close();
  process.exit(0);
});
