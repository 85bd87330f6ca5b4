// Issue 10's wire contract through a real mTLS client (undici): error codes, messages
// that name API fields without regular expressions, content-encoding, cpus above the
// host's count, and error_code in records.
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { after, before, describe, test } from "node:test";
import type { Agent } from "undici";
import { JobworkerClient } from "../../src/client/index.js";
import { agentFor, call, startHarness, waitEnded, type Harness } from "./fixture.js";

const JSON_TYPE = { "content-type": "application/json" };

describe("the wire contract", () => {
  let h: Harness;
  let alice: Agent;
  let base: string;
  before(async () => {
    h = await startHarness({ pool: { cgroups: false } });
    alice = agentFor(h.pki.ca.certPem, h.alice);
    base = h.server.url;
  });
  after(async () => {
    await alice?.close();
    await h?.close();
  });

  test("a limit out of range is named as the API spells it, with its bounds", async () => {
    const answer = await call(alice, `${base}/jobs`, "PUT", '{"cmd":"ls","limits":{"memory_bytes":1e308}}', JSON_TYPE);
    assert.equal(answer.status, 400, answer.text);
    assert.deepEqual(answer.json, {
      error: "limits.memory_bytes must be an integer from 4194304 to 9007199254740991 (bytes)",
      code: "INVALID_REQUEST",
    });
    assert.doesNotMatch(answer.text, /memoryBytes/);
    const pids = await call(alice, `${base}/jobs`, "PUT", { cmd: "ls", limits: { pids: 5_000_000 } });
    assert.equal(pids.json.error, "limits.pids must be an integer from 2 to 4194304 (processes)");
  });

  test("no refusal shows a regular expression", async () => {
    const cases: [string, RegExp][] = [
      ["/jobs?limit=0", /^limit must be an integer from 1 to 1000$/],
      ["/jobs?limit=abc", /^limit must be an integer from 1 to 1000$/],
      ["/jobs?cursor=x", /^cursor must be the next_cursor of a previous page$/],
      ["/jobs/00000000-0000-4000-8000-000000000000/stdout?offset=-1", /^offset must be a whole number of bytes$/],
      ["/jobs/00000000-0000-4000-8000-000000000000/stdout?follow=yes", /^follow must be one of "true", "false", "1", "0"$/],
    ];
    for (const [path, message] of cases) {
      const answer = await call(alice, `${base}${path}`);
      assert.equal(answer.status, 400, path);
      assert.equal(answer.json.code, "INVALID_REQUEST", path);
      assert.match(answer.json.error, message, path);
      assert.doesNotMatch(answer.json.error, /\^|\$|\[0-9\]|pattern/, path);
    }
  });

  test("a content-encoding the server does not decode is refused with 415, and nothing starts", async () => {
    for (const encoding of ["gzip", "deflate", "br", "gzip, identity"]) {
      const answer = await call(alice, `${base}/jobs`, "PUT", { cmd: "true" }, { "content-encoding": encoding });
      assert.equal(answer.status, 415, encoding);
      assert.equal(answer.json.code, "UNSUPPORTED_CONTENT_ENCODING", encoding);
    }
    assert.deepEqual((await call(alice, `${base}/jobs`)).json.jobs, []);
    const plain = await call(alice, `${base}/jobs`, "PUT", { cmd: "true" }, { "content-encoding": "identity" });
    assert.equal(plain.status, 200, plain.text);
  });

  test("limits.cpus above the host's CPU count is a 400 naming the count", async () => {
    const cpus = availableParallelism();
    const answer = await call(alice, `${base}/jobs`, "PUT", { cmd: "true", limits: { cpus: cpus + 0.5 } });
    assert.equal(answer.status, 400, answer.text);
    assert.equal(answer.json.code, "LIMIT_ABOVE_HOST");
    assert.match(answer.json.error, new RegExp(`^limits\\.cpus must be at most ${cpus}: this host has ${cpus} CPUs?$`));
  });

  test("a job that could not start has error_code in status, its record and the list", async () => {
    const cases: [object, string][] = [
      [{ cmd: "no-such-command-xyz" }, "COMMAND_NOT_FOUND"],
      [{ cmd: "/etc/passwd" }, "PERMISSION_DENIED"],
      [{ cmd: "true", cwd: "/no/such/dir" }, "CWD_NOT_FOUND"],
      [{ cmd: "true", cwd: "/etc/passwd" }, "CWD_NOT_A_DIRECTORY"],
    ];
    for (const [spec, code] of cases) {
      const put = await call(alice, `${base}/jobs`, "PUT", spec);
      assert.equal(put.status, 200, put.text);
      const id = put.json.id as string;
      const status = await waitEnded(alice, base, id);
      assert.equal(status.status, "error");
      assert.equal(status.error_code, code, JSON.stringify(spec));
      assert.equal((await call(alice, `${base}/jobs/${id}`)).json.error_code, code);
      const listed = (await call(alice, `${base}/jobs`)).json.jobs.find((j: { id: string }) => j.id === id);
      assert.equal(listed.error_code, code);
    }
    const ok = await call(alice, `${base}/jobs`, "PUT", { cmd: "true" });
    const done = await waitEnded(alice, base, ok.json.id);
    assert.equal(done.error_code, undefined);
  });

  test("the typed client maps refusals by code", async () => {
    const client = new JobworkerClient({ url: base, ca: h.pki.ca.certPem, cert: h.alice.certPem, key: h.alice.keyPem });
    try {
      await assert.rejects(client.create({ cmd: "true", limits: { cpus: availableParallelism() + 1 } }), {
        code: "BAD_REQUEST",
        serverCode: "LIMIT_ABOVE_HOST",
        status: 400,
        message: /this host has/,
      });
      await assert.rejects(client.get("00000000-0000-4000-8000-000000000000"), { code: "JOB_NOT_FOUND", serverCode: "JOB_NOT_FOUND" });
      await assert.rejects(client.status("00000000-0000-4000-8000-000000000000"), { code: "JOB_NOT_FOUND", status: 404 });
    } finally {
      await client.close();
    }
  });
});
