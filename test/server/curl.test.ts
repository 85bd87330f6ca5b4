// The API through curl, as docs/api.md shows it: a real, independent TLS client.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { startHarness, type Harness } from "./fixture.js";

const run = promisify(execFile);
let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** curl as alice; returns the HTTP status and the body. */
async function curl(path: string, args: string[] = [], creds: "alice" | "none" = "alice"): Promise<{ status: number; body: string }> {
  const tls = ["--cacert", h.pki.caFile, ...(creds === "alice" ? ["--cert", h.alice.certFile, "--key", h.alice.keyFile] : [])];
  const { stdout } = await run("curl", ["-sS", "--tlsv1.3", ...tls, "-w", "\n%{http_code}", ...args, `${h.server.url}${path}`]);
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

test("curl: start, follow, status, output, list, stop, delete", async () => {
  const put = await curl("/jobs", ["-X", "PUT", "-H", "content-type: application/json", "-d", '{"cmd":"sh","args":["-c","echo hi; echo oops >&2"]}']);
  assert.equal(put.status, 200);
  const { id } = JSON.parse(put.body);
  // Following the job returns once it ended, with every byte.
  assert.deepEqual(await curl(`/jobs/${id}/stdout?follow=true`), { status: 200, body: "hi\n" });
  assert.deepEqual(await curl(`/jobs/${id}/stderr?follow=true&offset=1`), { status: 200, body: "ops\n" });
  const status = await curl(`/jobs/${id}/status`);
  assert.deepEqual(JSON.parse(status.body), { status: "completed", exit_code: 0 });
  assert.deepEqual(JSON.parse((await curl(`/jobs/${id}/output`)).body), { stdout: "hi\n", stderr: "oops\n" });
  assert.equal(JSON.parse((await curl("/jobs")).body).jobs[0].id, id);
  assert.equal(JSON.parse((await curl(`/jobs/${id}`)).body).cmd, "sh");
  assert.deepEqual(await curl(`/jobs/${id}/stop`, ["-X", "POST"]), { status: 200, body: "" });
  assert.deepEqual(await curl(`/jobs/${id}`, ["-X", "DELETE"]), { status: 200, body: "" });
  assert.deepEqual(await curl(`/jobs/${id}/status`), { status: 404, body: "" });
  assert.deepEqual(await curl(`/jobs/${id}/output`), { status: 404, body: "" });
  assert.deepEqual(await curl(`/jobs/${id}`, ["-X", "DELETE"]), { status: 404, body: '{"error":"job not found","code":"JOB_NOT_FOUND"}' });
});

test("curl: refusals come as {error}", async () => {
  const bad = await curl("/jobs", ["-X", "PUT", "-H", "content-type: application/json", "-d", '{"cmd":"ls","args":"-la"}']);
  assert.deepEqual(bad, { status: 400, body: '{"error":"args must be an array","code":"INVALID_REQUEST"}' });
  const form = await curl("/jobs", ["-X", "PUT", "-d", '{"cmd":"ls"}']); // curl -d sends a form content type
  assert.equal(form.status, 415);
  assert.match(JSON.parse(form.body).error, /content-type: application\/json/);
});

test("curl without a client certificate is refused", async () => {
  await assert.rejects(curl("/jobs", [], "none"));
});
