// What a flood of output costs the server: a job writes 1 GiB, and the CPU time of the
// real `jobworker serve` process meanwhile is read from /proc/<pid>/stat. A generous
// bound on CPU seconds (the goal, 0.5 s, is measured by bench/capture.mjs; one event per
// write cost about 2 s here): never a bound on wall time.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { cli, serve, type Serving } from "./fixtures.js";

const BOUND_SECONDS = 1.2;
let home: string;
let server: Serving;
before(async () => {
  home = await mkdtemp(join(tmpdir(), "jobworker-capture-"));
  server = await serve(home);
});
after(async () => {
  server?.child.kill("SIGTERM");
  await server?.exited;
  await rm(home, { recursive: true, force: true });
});

/** utime + stime of a live process, in seconds (USER_HZ is 100 on Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

it(`a job writing 1 GiB costs the server under ${BOUND_SECONDS} s of CPU`, { timeout: 120_000 }, async () => {
  const started = await cli(["start", "--", "sh", "-c", "sleep 0.2; head -c 1G /dev/zero"], server.env);
  assert.equal(started.code, 0, started.stderr);
  const id = started.stdout.toString().trim();
  // From just after the start was answered to the recorded end: the capture, and one
  // long-poll request.
  const before = cpuSeconds(server.child.pid!);
  const waited = await cli(["wait", id], server.env);
  const cpu = cpuSeconds(server.child.pid!) - before;
  assert.equal(waited.code, 0, waited.stderr);
  const listed = JSON.parse((await cli(["list", "--json"], server.env)).stdout.toString());
  const record = (listed.jobs ?? listed).find((job: { id: string }) => job.id === id);
  assert.equal(record.stdout_bytes, 1024 ** 3, "every byte was captured");
  console.log(`# server CPU for 1 GiB of output: ${cpu.toFixed(2)} s`);
  assert.ok(cpu < BOUND_SECONDS, `the server spent ${cpu.toFixed(2)} s of CPU`);
  assert.equal((await cli(["delete", id], server.env)).code, 0);
});
