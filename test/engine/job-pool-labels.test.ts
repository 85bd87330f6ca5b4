// Labels: Kubernetes-style keys and values on a job, kept in its record and across a
// restart, and list filters by label (all must match) and by state, paged as any list.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InvalidArgumentError, InvalidJobSpecError, JobPool } from "../../src/index.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("JobPool labels", () => {
  const dir = tempDir();
  const dataDir = join(dir.path, "data");
  let pool: JobPool;
  before(async () => {
    pool = await JobPool.open({ dataDir, isolation: false });
  });
  after(async () => {
    await pool.close();
    dir.remove();
  });

  it("keeps a job's labels in its record", async () => {
    const id = pool.create({ cmd: "true", labels: { app: "site", "team.example.com/owner": "ops", empty: "" } });
    await pool.wait(id);
    assert.deepEqual(pool.get(id).labels, { app: "site", "team.example.com/owner": "ops", empty: "" });
    const none = pool.create({ cmd: "true" });
    assert.equal(pool.get(none).labels, undefined);
  });

  it("refuses labels that break a rule, naming it, and makes no job", () => {
    const before = pool.list().length;
    const refusals: [unknown, RegExp][] = [
      [{ App: "x" }, /key "App" must be 1 to 63 characters of a-z, 0-9/],
      [{ "-x": "x" }, /starting with a letter or digit/],
      [{ ["k".repeat(64)]: "x" }, /1 to 63 characters/],
      [{ "a b": "x" }, /key "a b"/],
      [{ k: "v".repeat(257) }, /at most 256 characters/],
      [{ k: 1 }, /labels\.k must be a string/],
      [Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])), /at most 32/],
      [["a"], /labels must be an object/],
      ["a=b", /labels must be an object/],
    ];
    for (const [labels, rule] of refusals) assert.throws(() => pool.create({ cmd: "true", labels: labels as Record<string, string> }), (err: Error) => err instanceof InvalidJobSpecError && rule.test(err.message), JSON.stringify(labels));
    assert.equal(pool.list().length, before);
  });

  it("lists by label (every one must match) and by state, across pages", async () => {
    const ids = { web: [] as string[], db: [] as string[] };
    for (let i = 0; i < 5; i++) ids.web.push(pool.create({ cmd: "true", labels: { app: "web", run: "r1" } }));
    for (let i = 0; i < 3; i++) ids.db.push(pool.create({ cmd: "true", labels: { app: "db", run: "r1" } }));
    const sleeper = pool.create({ cmd: "sleep", args: ["30"], labels: { app: "web", run: "r2" } });
    await Promise.all([...ids.web, ...ids.db].map((id) => pool.wait(id)));
    const listed = (filter: Parameters<JobPool["list"]>[0]) => pool.list(filter).map((job) => job.id).sort();
    assert.deepEqual(listed({ labels: { app: "web", run: "r1" } }), [...ids.web].sort());
    assert.deepEqual(listed({ labels: { run: "r1" } }), [...ids.web, ...ids.db].sort());
    assert.deepEqual(listed({ labels: { app: "web" } }), [...ids.web, sleeper].sort());
    assert.deepEqual(listed({ labels: { app: "web" }, state: "running" }), [sleeper]);
    assert.deepEqual(listed({ labels: { app: "nope" } }), []);
    // Pages of 2 give the same jobs, newest first, each once.
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = pool.listPage({ labels: { run: "r1" }, limit: 2, ...(cursor !== undefined && { cursor }) });
      paged.push(...page.jobs.map((job) => job.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    assert.deepEqual(paged, [...ids.db].reverse().concat([...ids.web].reverse()));
    await pool.stop(sleeper);
    assert.deepEqual(listed({ labels: { app: "web" }, state: "running" }), []);
  });

  it("refuses a bad filter, naming it", () => {
    assert.throws(() => pool.list({ state: "paused" as never }), (err: Error) => err instanceof InvalidArgumentError && /status must be one of queued, running, error, completed/.test(err.message));
    assert.throws(() => pool.list({ labels: { "Bad Key": "x" } }), (err: Error) => err instanceof InvalidArgumentError && /label: key "Bad Key"/.test(err.message));
  });

  it("keeps labels across a restart", async () => {
    const id = pool.create({ cmd: "true", labels: { kept: "yes" } });
    await pool.wait(id);
    await pool.close();
    pool = await JobPool.open({ dataDir, isolation: false });
    assert.deepEqual(pool.get(id).labels, { kept: "yes" });
    assert.deepEqual(pool.list({ labels: { kept: "yes" } }).map((job) => job.id), [id]);
  });
});
