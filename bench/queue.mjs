// The queue (issue 23), plain node on the built dist/. A server in its own process
// (support/queue-server.mjs) with one slot per client: a job holds it, then 10,000 more
// are submitted one after another over one keep-alive mTLS connection, and all wait.
//  1. enqueue rate: queued PUT /jobs per second, against GET /jobs/<id>/status (a request
//     that reads one record and writes nothing) over the same connection, in the same run;
//  2. the server's RSS before and after, per queued job;
//  3. the drain: once the slot frees, every job starts in turn, and each appends its
//     submission number to a file: the file must read 0 … N-1, in that order.
// BENCH_QUEUED (default 10000) sizes it.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { benchPki } from "./support/bench-pki.mjs";

const QUEUED = Number(process.env.BENCH_QUEUED ?? 10_000);
const work = mkdtempSync(join(tmpdir(), "jobworker-bench-queue-"));
chmodSync(work, 0o755);
const { tls } = await benchPki(work);
// Jobs see the host read-only and /tmp as their own: the order file is in a directory the
// server leaves writable for them, outside /tmp, and anyone's to append to (jobs run as
// the identity's own uid on a root server).
const shared = mkdtempSync(join(process.getuid() === 0 ? "/var/lib" : tmpdir(), "jobworker-bench-queue-"));
chmodSync(shared, 0o755);
const orderFile = join(shared, "order");
writeFileSync(orderFile, "");
chmodSync(orderFile, 0o666);

const child = spawn(process.execPath, [join(import.meta.dirname, "support", "queue-server.mjs"), work, shared], { stdio: ["pipe", "pipe", "inherit"] });
const { url, pid } = JSON.parse(
  await new Promise((resolve, reject) => {
    let text = "";
    child.stdout.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) resolve(text.split("\n")[0]);
    });
    child.once("exit", (code) => reject(new Error(`the queue server exited (${code})`)));
  }),
);
const agent = new Agent({ connect: tls, connections: 1 });

function rssMiB() {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
}

async function put(body) {
  const res = await request(`${url}/jobs`, { dispatcher: agent, method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.body.json();
  if (res.statusCode !== 200) throw new Error(`PUT /jobs answered ${res.statusCode}: ${JSON.stringify(json)}`);
  return json;
}

async function statusOf(id, wait) {
  const res = await request(`${url}/jobs/${id}/status${wait ? `?wait=${wait}` : ""}`, { dispatcher: agent });
  return res.body.json();
}

try {
  const blocker = await put({ cmd: "cat", stdin: true });
  // Warm both paths a little, then measure the baseline and the enqueues in one stretch.
  for (let i = 0; i < 200; i++) await statusOf(blocker.id);
  const statusStart = performance.now();
  for (let i = 0; i < QUEUED; i++) await statusOf(blocker.id);
  const statusMs = performance.now() - statusStart;
  const rssBefore = rssMiB();
  const ids = [];
  const enqueueStart = performance.now();
  for (let i = 0; i < QUEUED; i++) {
    const answer = await put({ cmd: "sh", args: ["-c", `echo ${i} >> ${orderFile}`] });
    if (answer.status !== "queued" || answer.queue_position !== i + 1) throw new Error(`job ${i} answered ${JSON.stringify(answer)}`);
    ids.push(answer.id);
  }
  const enqueueMs = performance.now() - enqueueStart;
  const rssAfter = rssMiB();
  const enqueueRate = QUEUED / (enqueueMs / 1000);
  const statusRate = QUEUED / (statusMs / 1000);
  console.log(`enqueue: ${QUEUED} queued PUT /jobs at ${enqueueRate.toFixed(0)}/s; GET status (baseline, same connection) ${statusRate.toFixed(0)}/s; ratio ${(enqueueRate / statusRate).toFixed(2)}`);
  console.log(`server RSS: ${rssBefore.toFixed(1)} MiB before, ${rssAfter.toFixed(1)} MiB with ${QUEUED} queued: ${(((rssAfter - rssBefore) * 1024 * 1024) / QUEUED).toFixed(0)} bytes per queued job`);

  // The drain: free the slot; the last job's end means every one has run.
  const drainStart = performance.now();
  await request(`${url}/jobs/${blocker.id}/stdin`, { dispatcher: agent, method: "PUT", headers: { "content-type": "application/octet-stream" }, body: "" }).then((res) => res.body.dump());
  let last;
  do last = await statusOf(ids.at(-1), 300);
  while (last.status === "queued" || last.status === "running");
  const drainMs = performance.now() - drainStart;
  const order = readFileSync(orderFile, "utf8").trim().split("\n").map(Number);
  const inOrder = order.length === QUEUED && order.every((n, i) => n === i);
  console.log(`drain: ${QUEUED} jobs through one slot in ${(drainMs / 1000).toFixed(1)} s (${(QUEUED / (drainMs / 1000)).toFixed(0)} starts/s); started in exact submission order: ${inOrder ? "yes" : `NO (${order.length} ran)`}`);
  if (!inOrder) process.exitCode = 1;
} finally {
  await agent.close();
  await new Promise((resolve) => {
    child.once("exit", resolve);
    child.stdin.end();
  });
  rmSync(work, { recursive: true, force: true });
  rmSync(shared, { recursive: true, force: true });
}
