// A jobworker server in a process of its own for bench/queue.mjs: one slot per client,
// room for 10,000 more waiting. Usage: node queue-server.mjs WORKDIR (CA, certificate
// and key there) SHARED (a directory the jobs may write, `serve --writable`); prints
// {"url", "pid"}, then serves until stdin closes.
import { join } from "node:path";
import { startServer } from "../../dist/server/index.js";

const [work, shared] = process.argv.slice(2);
const server = await startServer({
  caFile: join(work, "ca.pem"),
  certFile: join(work, "server.pem"),
  keyFile: join(work, "server.key"),
  pool: { dataDir: join(work, "queue-data"), confinement: { writable: [shared] }, queue: { maxRunningPerOwner: 1, maxQueuedPerOwner: 10_000 } },
  auditLog: false,
  log: () => {},
});
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await server.close();
  process.exit(0);
});
