// The pool's one inotify watch: events reach the right job, and a turn that delivers
// nearly a full kernel queue (which may have dropped events) wakes every job.
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { after, it } from "node:test";
import { OutputWatcher } from "../../src/engine/output-watcher.js";
import { tempDir } from "../helpers/temp-dir.js";

const dir = tempDir();
// The watch does not keep the process alive (it must not hold a server open); this does,
// while the tests wait for its events.
const keepAlive = setInterval(() => {}, 1 << 30);
after(() => {
  clearInterval(keepAlive);
  dir.remove();
});

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

it("passes writes on by job id and ignores other files", async () => {
  const changed = new Set<string>();
  const both = signal();
  let everything = 0;
  const watcher = new OutputWatcher(
    dir.path,
    (id) => {
      changed.add(id);
      if (changed.has("job-a") && changed.has("job-b")) both.fire();
    },
    () => everything++,
    1000,
  );
  try {
    appendFileSync(join(dir.path, "jobs.db"), "x");
    appendFileSync(join(dir.path, "job-a.stdout"), "x");
    appendFileSync(join(dir.path, "job-b.stderr"), "x");
    await both.promise;
    assert.deepEqual([...changed].sort(), ["job-a", "job-b"]);
    assert.equal(everything, 0);
  } finally {
    watcher.close();
  }
});

it("wakes every job after a turn with as many events as an overflowing queue holds", async () => {
  let everything = 0;
  const wokeAll = signal();
  let lastSeen = signal();
  const watcher = new OutputWatcher(
    dir.path,
    (id) => {
      if (id === "last") lastSeen.fire();
    },
    () => {
      everything++;
      wokeAll.fire();
    },
    20,
    // The overflow check alone: no rest under load here (the next test has it).
    { burstEvents: Number.POSITIVE_INFINITY },
  );
  try {
    // Written while the event loop is busy, so libuv delivers them all in one turn;
    // alternating names keep the kernel from merging them.
    for (let i = 0; i < 30; i++) appendFileSync(join(dir.path, `job-${i % 2}.stdout`), "x");
    await wokeAll.promise;
    assert.equal(everything, 1, "one wake-up for the whole burst");
    // An ordinary turn afterwards does not wake everyone.
    lastSeen = signal();
    appendFileSync(join(dir.path, "last.stdout"), "x");
    await lastSeen.promise;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(everything, 1);
  } finally {
    watcher.close();
  }
});

it("under a burst, rests the watch, then looks at every job once: no event is needed for writes made meanwhile", async () => {
  const heard: string[] = [];
  let resumed = signal();
  let looks = 0;
  const watcher = new OutputWatcher(
    dir.path,
    (id) => heard.push(id),
    () => {
      looks++;
      resumed.fire();
    },
    1_000_000,
    { burstEvents: 4, pauseMs: 30 },
  );
  try {
    // 40 writes in one turn, alternating files so the kernel cannot merge them.
    for (let i = 0; i < 40; i++) appendFileSync(join(dir.path, `flood-${i % 2}.stdout`), "x");
    await resumed.promise;
    assert.equal(looks, 1, "one look at every job after the rest");
    assert.ok(heard.length <= 4, `at most a burst of events passed on one by one, not ${heard.length}`);
    // After the rest, a write is heard on its own again.
    const before = heard.length;
    resumed = signal();
    appendFileSync(join(dir.path, "quiet.stderr"), "x");
    for (const deadline = Date.now() + 10_000; heard.length === before && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual([...new Set(heard.slice(before))], ["quiet"], "(its creation and its write)");
    assert.equal(looks, 1);
  } finally {
    watcher.close();
  }
});
