// The HTTP API of docs/api.md through undici: every endpoint, happy and unhappy,
// two identities, and the strict-input table.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let h: Harness;
let alice: Agent;
let bob: Agent;
let base: string;

before(async () => {
  h = await startHarness({ pool: { queue: { maxRunningPerOwner: 3, maxQueuedPerOwner: 0 } } });
  alice = agentFor(h.pki.ca.certPem, h.alice);
  bob = agentFor(h.pki.ca.certPem, h.bob);
  base = h.server.url;
});
after(async () => {
  await Promise.all([alice?.close(), bob?.close()]);
  await h?.close();
});

async function start(agent: Agent, body: unknown): Promise<string> {
  const answer = await call(agent, `${base}/jobs`, "PUT", body);
  assert.equal(answer.status, 200, answer.text);
  assert.match(answer.json.id, UUID);
  return answer.json.id;
}

describe("endpoints", () => {
  test("PUT /jobs, then status and output of a completed job", async () => {
    const id = await start(alice, { cmd: "sh", args: ["-c", "echo out; echo err >&2; exit 3"] });
    assert.deepEqual(await waitEnded(alice, base, id), { status: "completed", exit_code: 3 });
    const output = await call(alice, `${base}/jobs/${id}/output`);
    assert.equal(output.status, 200);
    assert.match(String(output.headers["content-type"]), /^application\/json/);
    assert.deepEqual(output.json, { stdout: "out\n", stderr: "err\n" });
  });

  test("args may be omitted; env and cwd are passed", async () => {
    const id = await start(alice, { cmd: "pwd" });
    await waitEnded(alice, base, id);
    assert.equal((await call(alice, `${base}/jobs/${id}/output`)).json.stdout.trim().length > 0, true);
    const id2 = await start(alice, { cmd: "sh", args: ["-c", 'echo "$GREETING"; pwd'], env: { GREETING: "hi" }, cwd: "/" });
    await waitEnded(alice, base, id2);
    assert.equal((await call(alice, `${base}/jobs/${id2}/output`)).json.stdout, "hi\n/\n");
  });

  test("a command that cannot start is a job in error state, with empty output", async () => {
    const id = await start(alice, { cmd: "no-such-command-jobworker" });
    const status = await waitEnded(alice, base, id);
    assert.equal(status.status, "error");
    assert.match(status.error_msg, /not found/);
    assert.deepEqual((await call(alice, `${base}/jobs/${id}/output`)).json, { stdout: "", stderr: "" });
  });

  test("GET /jobs/<id> and GET /jobs list the caller's jobs, newest first", async () => {
    const first = await start(alice, { cmd: "true" });
    const second = await start(alice, { cmd: "echo", args: ["x"] });
    await waitEnded(alice, base, second);
    const record = await call(alice, `${base}/jobs/${second}`);
    assert.equal(record.status, 200);
    assert.equal(record.json.id, second);
    assert.equal(record.json.cmd, "echo");
    assert.deepEqual(record.json.args, ["x"]);
    assert.equal(record.json.status, "completed");
    assert.equal(record.json.exit_code, 0);
    assert.equal(record.json.stdout_bytes, 2);
    assert.ok(!Number.isNaN(Date.parse(record.json.created_at)));
    assert.ok(!Number.isNaN(Date.parse(record.json.ended_at)));
    assert.equal(record.json.owner, "alice");
    const list = await call(alice, `${base}/jobs`);
    const ids = list.json.jobs.map((j: { id: string }) => j.id);
    assert.ok(ids.indexOf(second) < ids.indexOf(first));
    assert.equal(ids[0], second);
  });

  test("POST /jobs/<id>/stop ends a running job and keeps it", async () => {
    const id = await start(alice, { cmd: "sleep", args: ["30"] });
    assert.equal((await call(alice, `${base}/jobs/${id}/status`)).json.status, "running");
    const stopped = await call(alice, `${base}/jobs/${id}/stop`, "POST");
    assert.equal(stopped.status, 200);
    assert.equal(stopped.text, "");
    const status = await call(alice, `${base}/jobs/${id}/status`);
    assert.deepEqual(status.json, { status: "completed", exit_code: 143, signal: "SIGTERM" });
    assert.equal((await call(alice, `${base}/jobs/${id}/stop`, "POST")).status, 200, "stopping an ended job is fine");
  });

  test("DELETE /jobs/<id> removes the job; then everything is 404", async () => {
    const id = await start(alice, { cmd: "sleep", args: ["30"] });
    const deleted = await call(alice, `${base}/jobs/${id}`, "DELETE");
    assert.equal(deleted.status, 200);
    assert.equal(deleted.text, "");
    assert.equal((await call(alice, `${base}/jobs/${id}/status`)).status, 404);
    const again = await call(alice, `${base}/jobs/${id}`, "DELETE");
    assert.equal(again.status, 404);
    assert.deepEqual(again.json, { error: "job not found", code: "JOB_NOT_FOUND" });
  });

  test("stdout and stderr give exact bytes, from an offset", async () => {
    const id = await start(alice, { cmd: "printf", args: ["\\377\\000abc"] });
    await waitEnded(alice, base, id);
    const { request } = await import("undici");
    const res = await request(`${base}/jobs/${id}/stdout`, { dispatcher: alice });
    assert.equal(res.headers["content-type"], "application/octet-stream");
    assert.deepEqual(Buffer.from(await res.body.arrayBuffer()), Buffer.from([0xff, 0x00, 0x61, 0x62, 0x63]));
    assert.equal((await call(alice, `${base}/jobs/${id}/stdout?offset=2`)).text, "abc");
    assert.equal((await call(alice, `${base}/jobs/${id}/stdout?offset=99`)).text, "");
    assert.equal((await call(alice, `${base}/jobs/${id}/stderr?follow=true`)).text, "");
  });
});

describe("identities", () => {
  test("bob gets exactly the unknown-id answer on every endpoint for alice's job", async () => {
    const id = await start(alice, { cmd: "sleep", args: ["30"] });
    const unknown = "00000000-0000-4000-8000-000000000000";
    const endpoints: [string, "GET" | "POST" | "DELETE"][] = [
      ["", "GET"],
      ["/status", "GET"],
      ["/output", "GET"],
      ["/stdout", "GET"],
      ["/stderr?follow=true", "GET"],
      ["/stop", "POST"],
      ["", "DELETE"],
    ];
    for (const [suffix, method] of endpoints) {
      const theirs = await call(bob, `${base}/jobs/${id}${suffix}`, method);
      const none = await call(bob, `${base}/jobs/${unknown}${suffix}`, method);
      assert.equal(theirs.status, 404, `${method} ${suffix}`);
      assert.equal(theirs.text, none.text, `${method} ${suffix}: same body`);
      assert.equal(theirs.headers["content-type"], none.headers["content-type"]);
    }
    // The contract: status and output 404 with an empty body, the others with {"error"}.
    assert.equal((await call(bob, `${base}/jobs/${id}/status`)).text, "");
    assert.equal((await call(bob, `${base}/jobs/${id}/output`)).text, "");
    assert.deepEqual((await call(bob, `${base}/jobs/${id}`, "DELETE")).json, { error: "job not found", code: "JOB_NOT_FOUND" });
    // And alice's job was neither stopped nor deleted by bob.
    assert.equal((await call(alice, `${base}/jobs/${id}/status`)).json.status, "running");
    assert.ok(!(await call(bob, `${base}/jobs`)).json.jobs.some((j: { id: string }) => j.id === id));
    assert.ok((await call(alice, `${base}/jobs`)).json.jobs.some((j: { id: string }) => j.id === id));
    await call(alice, `${base}/jobs/${id}`, "DELETE");
  });

  test("malformed and very long ids get the same 404", async () => {
    for (const id of ["nope", "00000000-0000-4000-8000-00000000000Z", "x".repeat(5000), "%00"]) {
      const status = await call(alice, `${base}/jobs/${id}/status`);
      assert.equal(status.status, 404, id.slice(0, 20));
      assert.equal(status.text, "");
      const record = await call(alice, `${base}/jobs/${id}`);
      assert.equal(record.status, 404);
      assert.deepEqual(record.json, { error: "job not found", code: "JOB_NOT_FOUND" });
    }
  });
});

describe("strict input", () => {
  const cases: [string, string | Buffer, Record<string, string>, number, RegExp][] = [
    ["invalid JSON", "{cmd:", { "content-type": "application/json" }, 400, /not valid JSON/],
    ["empty body", "", { "content-type": "application/json" }, 400, /empty/],
    ["JSON that is not an object", "[1]", { "content-type": "application/json" }, 400, /request body must be an object/],
    ["cmd a number", '{"cmd":1}', { "content-type": "application/json" }, 400, /^cmd must be a string$/],
    ["cmd missing", '{"args":[]}', { "content-type": "application/json" }, 400, /missing field "cmd"/],
    ["cmd empty", '{"cmd":""}', { "content-type": "application/json" }, 400, /cmd/],
    ["args a string", '{"cmd":"ls","args":"-la"}', { "content-type": "application/json" }, 400, /^args must be an array$/],
    ["args with a number", '{"cmd":"ls","args":["-l",2]}', { "content-type": "application/json" }, 400, /^args\[1\] must be a string$/],
    ["an extra field", '{"cmd":"ls","shell":true}', { "content-type": "application/json" }, 400, /unknown field "shell"/],
    ["env value not a string", '{"cmd":"ls","env":{"A":1}}', { "content-type": "application/json" }, 400, /env\.A must be a string/],
    ["env name not valid", '{"cmd":"ls","env":{"A=B":"1"}}', { "content-type": "application/json" }, 400, /env name/],
    ["cwd relative", '{"cmd":"ls","cwd":"tmp"}', { "content-type": "application/json" }, 400, /absolute/],
    ["NUL byte in cmd", '{"cmd":"l\\u0000s"}', { "content-type": "application/json" }, 400, /NUL/],
    ["NUL byte in an arg", '{"cmd":"ls","args":["a\\u0000"]}', { "content-type": "application/json" }, 400, /NUL/],
    ["__proto__ key", '{"cmd":"ls","__proto__":{"x":1}}', { "content-type": "application/json" }, 400, /./],
    ["limits below the floor", '{"cmd":"ls","limits":{"pids":1}}', { "content-type": "application/json" }, 400, /^limits\.pids must be an integer from 2 to 4194304 \(processes\)$/],
    ["limits of the wrong type", '{"cmd":"ls","limits":{"cpus":"0.5"}}', { "content-type": "application/json" }, 400, /limits.cpus must be a number/],
    ["unknown limit", '{"cmd":"ls","limits":{"gpus":4}}', { "content-type": "application/json" }, 400, /unknown field "gpus" in limits/],
    ["no content type", '{"cmd":"ls"}', {}, 415, /content-type: application\/json/],
    ["text/plain", '{"cmd":"ls"}', { "content-type": "text/plain" }, 415, /content-type/],
    ["form", "cmd=ls", { "content-type": "application/x-www-form-urlencoded" }, 415, /content-type/],
    ["JSON in another charset", '{"cmd":"ls"}', { "content-type": "application/json; charset=latin1" }, 415, /content-type/],
    ["1 MiB body", Buffer.alloc(1024 * 1024, 0x20), { "content-type": "application/json" }, 413, /too large/],
  ];
  for (const [name, body, headers, status, message] of cases) {
    test(`PUT /jobs with ${name} → ${status}`, async () => {
      const answer = await call(alice, `${base}/jobs`, "PUT", body, headers);
      assert.equal(answer.status, status, answer.text);
      assert.deepEqual(Object.keys(answer.json ?? {}), ["error", "code"], answer.text);
      assert.match(answer.json.error, message);
      assert.doesNotMatch(answer.text, /at .*\.(js|ts):\d+/, "no stack trace");
    });
  }

  test("query strings are validated strictly", async () => {
    const id = await start(alice, { cmd: "true" });
    for (const query of ["offset=-1", "offset=1.5", "offset=abc", "offset=", "offset=1&offset=2", "offset=99999999999999999", "follow=yes", "tail=-1", "tails=1"]) {
      const answer = await call(alice, `${base}/jobs/${id}/stdout?${query}`);
      assert.equal(answer.status, 400, query);
      assert.ok(typeof answer.json.error === "string", query);
    }
    // owner= is the admins' (test/server/admins-api.test.ts): for anyone else a 403 with its code.
    assert.deepEqual((await call(alice, `${base}/jobs?owner=bob`)).json.code, "ADMIN_REQUIRED");
    assert.equal((await call(alice, `${base}/jobs?owner=`)).status, 400);
  });

  test("unknown routes and wrong methods answer with {error}", async () => {
    const unknown = await call(alice, `${base}/nope`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json, { error: "not found", code: "NOT_FOUND" });
    const wrong = await call(alice, `${base}/jobs`, "POST", { cmd: "ls" });
    assert.equal(wrong.status, 405);
    assert.deepEqual(wrong.json, { error: "method not allowed", code: "METHOD_NOT_ALLOWED" });
    assert.equal(wrong.headers.allow, "GET, PUT");
    assert.equal((await call(alice, `${base}/jobs/x/status`, "DELETE")).status, 405);
  });
});

describe("limits and audit", () => {
  test("a client over its running-job limit gets 429; others are not affected", async () => {
    const ids: string[] = [];
    // alice may have other jobs running from earlier tests: fill up to the limit (3).
    for (let i = 0; i < 3; i++) {
      const answer = await call(alice, `${base}/jobs`, "PUT", { cmd: "sleep", args: ["30"] });
      if (answer.status === 429) break;
      ids.push(answer.json.id);
    }
    const refused = await call(alice, `${base}/jobs`, "PUT", { cmd: "sleep", args: ["30"] });
    assert.equal(refused.status, 429);
    assert.match(refused.json.error, /at most 3/);
    const bobs = await call(bob, `${base}/jobs`, "PUT", { cmd: "true" });
    assert.equal(bobs.status, 200);
    await call(alice, `${base}/jobs/${ids[0]}/stop`, "POST");
    assert.equal((await call(alice, `${base}/jobs`, "PUT", { cmd: "true" })).status, 200);
    await Promise.all(ids.map((id) => call(alice, `${base}/jobs/${id}`, "DELETE")));
  });

  test("each request writes one audit line", async () => {
    const id = await start(bob, { cmd: "true" });
    await call(bob, `${base}/jobs/${id}/status`);
    await call(bob, `${base}/jobs/${"f".repeat(10)}/status`);
    // A line is written when its response closes, just after the client has it all; one
    // more round trip on the same connection makes sure that happened.
    await call(bob, `${base}/jobs`);
    const lines = h.audit.map((l) => JSON.parse(l));
    const put = lines.find((l) => l.method === "PUT" && l.job_id === id);
    assert.ok(put, "PUT line");
    assert.equal(put.identity, "bob");
    assert.equal(put.route, "/jobs");
    assert.equal(put.status, 200);
    assert.equal(typeof put.duration_ms, "number");
    assert.ok(!Number.isNaN(Date.parse(put.time)));
    const status = lines.find((l) => l.route === "/jobs/:id/status" && l.job_id === id);
    assert.equal(status?.status, 200);
    const notFound = lines.filter((l) => l.identity === "bob" && l.status === 404 && l.route === "/jobs/:id/status");
    assert.ok(notFound.some((l) => l.job_id === null));
  });

  test("a URL fastify refuses before routing gets the same error shape and an audit line", async () => {
    const bad = await call(bob, `${base}/jobs/%E0%A4%A/status`);
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.json.error, "string");
    await call(bob, `${base}/jobs`); // the line is written when the response closes
    const line = h.audit.map((l) => JSON.parse(l)).find((l) => l.status === 400 && l.route.includes("%E0%A4%A"));
    assert.ok(line, h.audit.join("\n"));
    assert.equal(line.identity, "bob");
    assert.equal(line.method, "GET");
  });
});
