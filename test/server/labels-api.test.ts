// Labels over mTLS: PUT /jobs with "labels", kept in records; GET /jobs?label=k=v
// (repeatable, all must match) and ?status=; 400s that name the rule; another
// identity's labelled jobs never listed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { call, harnessWithClients, waitEnded } from "./fixture.js";

describe("labels", () => {
  const world = harnessWithClients({ pool: { stopGraceMs: 300 } }, { before, after });

  async function put(agent: Agent, body: Record<string, unknown>): Promise<string> {
    const answer = await call(agent, `${world.h.server.url}/jobs`, "PUT", body);
    assert.equal(answer.status, 200, answer.text);
    return answer.json.id;
  }
  const ids = async (agent: Agent, query: string): Promise<string[]> => {
    const answer = await call(agent, `${world.h.server.url}/jobs?${query}`);
    assert.equal(answer.status, 200, answer.text);
    return answer.json.jobs.map((job: { id: string }) => job.id).sort();
  };

  test("records keep them; ?label= (all must match) and ?status= filter, for the caller's jobs only", async () => {
    const a1 = await put(world.alice, { cmd: "true", labels: { app: "web", env: "ci" } });
    const a2 = await put(world.alice, { cmd: "true", labels: { app: "web", env: "prod" } });
    const a3 = await put(world.alice, { cmd: "sleep", args: ["30"], labels: { app: "web", env: "ci" } });
    const b1 = await put(world.bob, { cmd: "true", labels: { app: "web", env: "ci" } });
    await Promise.all([a1, a2].map((id) => waitEnded(world.alice, world.h.server.url, id)));
    await waitEnded(world.bob, world.h.server.url, b1);
    assert.deepEqual((await call(world.alice, `${world.h.server.url}/jobs/${a1}`)).json.labels, { app: "web", env: "ci" });
    assert.deepEqual(await ids(world.alice, "label=app=web"), [a1, a2, a3].sort());
    assert.deepEqual(await ids(world.alice, "label=app=web&label=env=ci"), [a1, a3].sort());
    assert.deepEqual(await ids(world.alice, "label=app=web&label=env=ci&status=running"), [a3]);
    assert.deepEqual(await ids(world.alice, "label=app=web&status=completed"), [a1, a2].sort());
    assert.deepEqual(await ids(world.bob, "label=app=web"), [b1]);
    // A value may hold "=": only the first one splits.
    const eq = await put(world.alice, { cmd: "true", labels: { expr: "a=b" } });
    assert.deepEqual(await ids(world.alice, "label=expr=a%3Db"), [eq]);
    await call(world.alice, `${world.h.server.url}/jobs/${a3}/stop`, "POST");
  });

  test("bad labels and filters are 400s naming the rule, and make no job", async () => {
    const before = (await call(world.alice, `${world.h.server.url}/jobs?limit=1000`)).json.jobs.length;
    for (const [labels, rule] of [
      [{ App: "x" }, /key "App" must be 1 to 63 characters/],
      [{ k: "v".repeat(257) }, /at most 256 characters/],
      [Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])), /at most 32/],
    ] as const) {
      const answer = await call(world.alice, `${world.h.server.url}/jobs`, "PUT", { cmd: "true", labels });
      assert.equal(answer.status, 400);
      assert.equal(answer.json.code, "INVALID_JOB_SPEC");
      assert.match(answer.json.error, rule);
    }
    const notStrings = await call(world.alice, `${world.h.server.url}/jobs`, "PUT", { cmd: "true", labels: { k: 1 } });
    assert.equal(notStrings.status, 400);
    assert.match(notStrings.json.error, /labels/);
    assert.equal((await call(world.alice, `${world.h.server.url}/jobs?limit=1000`)).json.jobs.length, before);
    for (const [query, rule] of [
      ["label=novalue", /label must be key=value/],
      ["label=Bad=x", /label: key "Bad"/],
      ["label=k=a&label=k=b", /given twice with different values/],
      ["status=paused", /status/],
    ] as const) {
      const answer = await call(world.alice, `${world.h.server.url}/jobs?${query}`);
      assert.equal(answer.status, 400, query);
      assert.match(answer.json.error, rule, query);
    }
  });
});
