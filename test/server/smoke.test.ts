import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

test("a job runs and its output comes back", async () => {
  const agent = agentFor(h.pki.ca.certPem, h.alice);
  const created = await call(agent, `${h.server.url}/jobs`, "PUT", { cmd: "echo", args: ["hello"] });
  assert.equal(created.status, 200, created.text);
  const status = await waitEnded(agent, h.server.url, created.json.id);
  assert.deepEqual(status, { status: "completed", exit_code: 0 });
  const output = await call(agent, `${h.server.url}/jobs/${created.json.id}/output`);
  assert.deepEqual(output.json, { stdout: "hello\n", stderr: "" });
  await agent.close();
});
