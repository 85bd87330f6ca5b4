// Admins (`serve --admin`, `--admins-file`) through real mTLS clients: carol is an admin,
// alice and bob are not. An admin lists (?owner=NAME|*), reads, follows, stops and deletes
// every job; everyone else is exactly as before (another identity's job is the unknown-id
// 404, owner= is 403 ADMIN_REQUIRED); the audit log names both identities; the file is
// re-read by reloadAdmins() (what SIGHUP calls), and a bad file changes nothing.
import assert from "node:assert/strict";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { request, type Agent } from "undici";
import { ServerConfigError, startServer } from "../../src/server/index.js";
import { agentFor, call, makePki, startHarness, waitEnded, type Harness } from "./fixture.js";

const UNKNOWN = "00000000-0000-4000-8000-000000000000";

let h: Harness;
let alice: Agent;
let bob: Agent;
let carol: Agent;
let base: string;

before(async () => {
  h = await startHarness({ admins: ["carol"] });
  alice = agentFor(h.pki.ca.certPem, h.alice);
  bob = agentFor(h.pki.ca.certPem, h.bob);
  carol = agentFor(h.pki.ca.certPem, await h.pki.client("carol"));
  base = h.server.url;
});
after(async () => {
  await Promise.all([alice?.close(), bob?.close(), carol?.close()]);
  await h?.close();
});

async function start(agent: Agent, body: unknown): Promise<string> {
  const answer = await call(agent, `${base}/jobs`, "PUT", body);
  assert.equal(answer.status, 200, answer.text);
  return answer.json.id;
}

/** Every page of `GET /jobs?<query>`, `limit` at a time. */
async function listAll(agent: Agent, query: string, limit = 1): Promise<{ id: string; owner: string }[]> {
  const jobs = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const answer = await call(agent, `${base}/jobs?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    assert.equal(answer.status, 200, answer.text);
    jobs.push(...answer.json.jobs);
    cursor = answer.json.next_cursor;
    if (cursor === undefined) return jobs;
  }
  throw new Error("more than 100 pages");
}

/**
 * The audit line that `match` picks, once written: lines are written when a response
 * closes, a moment after the client has it (polled, bounded to 5 s).
 */
async function auditLine(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const line = h.audit.map((l) => JSON.parse(l) as Record<string, unknown>).find(match);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no such audit line in:\n${h.audit.join("\n")}`);
    await sleep(10);
  }
}

describe("GET /jobs?owner=", () => {
  test("an admin lists one identity's jobs (owner=NAME) or everyone's (owner=*), page by page, each naming its owner", async () => {
    const ofAlice = await start(alice, { cmd: "true" });
    const ofBob = [await start(bob, { cmd: "true" }), await start(bob, { cmd: "true" })];
    const ofCarol = await start(carol, { cmd: "true" });

    const bobs = await listAll(carol, "owner=bob");
    assert.deepEqual(bobs.map((j) => j.id).sort(), [...ofBob].sort());
    assert.ok(bobs.every((j) => j.owner === "bob"));

    const everyone = await listAll(carol, "owner=*");
    const seen = new Map(everyone.map((j) => [j.id, j.owner]));
    assert.equal(seen.size, everyone.length, "no job twice across pages");
    assert.equal(seen.get(ofAlice), "alice");
    assert.equal(seen.get(ofBob[0]!), "bob");
    assert.equal(seen.get(ofCarol), "carol");
    assert.equal((await call(carol, `${base}/jobs?owner=${encodeURIComponent("*")}`)).json.jobs.length, everyone.length, "%2A is * too");

    // Without owner= (or with their own name) an admin sees their own jobs, as anyone does.
    for (const query of ["", "?owner=carol"]) {
      const own = (await call(carol, `${base}/jobs${query}`)).json.jobs;
      assert.deepEqual(own.map((j: { id: string }) => j.id), [ofCarol], query);
    }
    // An identity with no jobs (or none at all) is an empty list.
    assert.deepEqual((await call(carol, `${base}/jobs?owner=nobody`)).json, { jobs: [] });
  });

  test("anyone else gets 403 ADMIN_REQUIRED for another identity or *, the same whether it has jobs or not; their own name is allowed", async () => {
    await start(bob, { cmd: "true" });
    const existing = await call(alice, `${base}/jobs?owner=bob`);
    const absent = await call(alice, `${base}/jobs?owner=nobody`);
    assert.equal(existing.status, 403);
    assert.equal(existing.json.code, "ADMIN_REQUIRED");
    assert.equal(existing.text, absent.text, "nothing tells whether bob has jobs");
    const all = await call(alice, `${base}/jobs?owner=*`);
    assert.equal(all.status, 403);
    assert.deepEqual(all.json, { error: "only the server's admins may list every identity's jobs", code: "ADMIN_REQUIRED" });
    const own = await call(alice, `${base}/jobs?owner=alice`);
    assert.equal(own.status, 200);
    assert.deepEqual(own.json, (await call(alice, `${base}/jobs`)).json);
    // A malformed owner is a 400 for everyone, admins included, before any role check.
    for (const agent of [alice, carol]) {
      assert.equal((await call(agent, `${base}/jobs?owner=`)).json.code, "INVALID_REQUEST");
      assert.equal((await call(agent, `${base}/jobs?owner=a%01b`)).json.code, "INVALID_REQUEST");
      assert.equal((await call(agent, `${base}/jobs?owner=${"x".repeat(257)}`)).json.code, "INVALID_REQUEST");
    }
  });
});

describe("another identity's job", () => {
  test("an admin reads its record, status, output and bytes, follows it live, stops and deletes it", async () => {
    const id = await start(bob, { cmd: "sh", args: ["-c", "echo started; echo warn >&2; exec sleep 60"] });
    const record = await call(carol, `${base}/jobs/${id}`);
    assert.equal(record.status, 200);
    assert.equal(record.json.owner, "bob");
    assert.equal((await call(carol, `${base}/jobs/${id}/status`)).json.status, "running");

    // A live follow: its first bytes, then its end once carol stops the job.
    const follow = await request(`${base}/jobs/${id}/stdout?follow=true`, { dispatcher: carol });
    assert.equal(follow.statusCode, 200);
    const chunks: Buffer[] = [];
    const iterator = follow.body[Symbol.asyncIterator]();
    while (!Buffer.concat(chunks).toString().includes("started\n")) {
      const next = await iterator.next();
      assert.ok(!next.done, "stream ended early");
      chunks.push(next.value as Buffer);
    }
    const stop = await call(carol, `${base}/jobs/${id}/stop`, "POST");
    assert.equal(stop.status, 200);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) chunks.push(next.value as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), "started\n");

    assert.deepEqual(await waitEnded(carol, base, id), { status: "completed", exit_code: 143, signal: "SIGTERM" });
    assert.deepEqual((await call(carol, `${base}/jobs/${id}/output`)).json, { stdout: "started\n", stderr: "warn\n" });
    assert.equal((await call(carol, `${base}/jobs/${id}/stderr?offset=1`)).text, "arn\n");
    assert.equal((await call(bob, `${base}/jobs/${id}/status`)).json.status, "completed", "bob sees carol's stop");

    assert.equal((await call(carol, `${base}/jobs/${id}`, "DELETE")).status, 200);
    assert.equal((await call(bob, `${base}/jobs/${id}`)).status, 404, "gone for its owner too");
  });

  test("an admin may not write its stdin: the unknown-id 404", async () => {
    const id = await start(bob, { cmd: "cat", stdin: true });
    const theirs = await call(carol, `${base}/jobs/${id}/stdin`, "PUT", "typed", { "content-type": "application/octet-stream" });
    const none = await call(carol, `${base}/jobs/${UNKNOWN}/stdin`, "PUT", "typed", { "content-type": "application/octet-stream" });
    assert.equal(theirs.status, 404);
    assert.equal(theirs.text, none.text);
    assert.equal((await call(bob, `${base}/jobs/${id}/stdin`, "PUT", "", { "content-type": "application/octet-stream" })).status, 200);
    assert.deepEqual(await waitEnded(bob, base, id), { status: "completed", exit_code: 0 });
    assert.equal((await call(bob, `${base}/jobs/${id}/stdout`)).text, "", "carol's bytes never reached it");
  });

  test("a non-admin gets exactly the unknown-id answer on every route, headers included, and changes nothing", async () => {
    const id = await start(bob, { cmd: "sleep", args: ["60"] });
    const routes: [string, "GET" | "POST" | "DELETE"][] = [
      ["", "GET"],
      ["/status", "GET"],
      ["/output", "GET"],
      ["/stdout", "GET"],
      ["/stderr?follow=true", "GET"],
      ["/stop", "POST"],
      ["", "DELETE"],
    ];
    const withoutDate = (headers: Record<string, unknown>) => Object.fromEntries(Object.entries(headers).filter(([name]) => name !== "date"));
    for (const [suffix, method] of routes) {
      const theirs = await call(alice, `${base}/jobs/${id}${suffix}`, method);
      const none = await call(alice, `${base}/jobs/${UNKNOWN}${suffix}`, method);
      assert.equal(theirs.status, 404, `${method} ${suffix}`);
      assert.equal(theirs.text, none.text, `${method} ${suffix}: same body`);
      assert.deepEqual(withoutDate(theirs.headers), withoutDate(none.headers), `${method} ${suffix}: same headers`);
    }
    assert.equal((await call(bob, `${base}/jobs/${id}/status`)).json.status, "running", "neither stopped nor deleted");
    assert.equal((await call(carol, `${base}/jobs/${id}`, "DELETE")).status, 200);
  });
});

describe("audit log", () => {
  test("an admin's action on another identity's job names both: identity (the admin) and owner; own actions have no owner", async () => {
    const id = await start(bob, { cmd: "sleep", args: ["60"] });
    await call(bob, `${base}/jobs/${id}/status`);
    await call(carol, `${base}/jobs/${id}/status`);
    await call(carol, `${base}/jobs/${id}/stop`, "POST");
    await call(carol, `${base}/jobs/${id}`, "DELETE");
    await call(carol, `${base}/jobs?owner=*`);
    await call(carol, `${base}/jobs?owner=bob`);
    await call(alice, `${base}/jobs?owner=bob`);

    const own = await auditLine((l) => l.identity === "bob" && l.job_id === id && l.route === "/jobs/:id/status");
    assert.equal(own.owner, undefined);
    for (const [method, route] of [
      ["GET", "/jobs/:id/status"],
      ["POST", "/jobs/:id/stop"],
      ["DELETE", "/jobs/:id"],
    ]) {
      const line = await auditLine((l) => l.identity === "carol" && l.job_id === id && l.method === method && l.route === route);
      assert.equal(line.owner, "bob", `${method} ${route}`);
      assert.equal(line.status, 200);
    }
    assert.equal((await auditLine((l) => l.identity === "carol" && l.route === "/jobs" && l.owner === "*")).status, 200);
    assert.equal((await auditLine((l) => l.identity === "carol" && l.route === "/jobs" && l.owner === "bob")).status, 200);
    // A refused attempt is audited (403), with no owner: nothing was done on bob's behalf.
    const refused = await auditLine((l) => l.identity === "alice" && l.route === "/jobs" && l.status === 403);
    assert.equal(refused.owner, undefined);
  });
});

describe("the admin list", () => {
  test("the admins file is re-read by reloadAdmins(): an admin added, kept through a bad file, then removed", async () => {
    const pki = await makePki();
    const [dave, erin] = await Promise.all([pki.client("dave"), pki.client("erin")]);
    const file = join(pki.dir, "admins");
    await writeFile(file, "# no admins yet\n", { mode: 0o600 });
    const server = await startServer({
      caFile: pki.caFile,
      certFile: pki.certFile,
      keyFile: pki.keyFile,
      pool: { dataDir: join(pki.dir, "data"), isolation: false },
      auditLog: false,
      log: () => {},
      admins: ["erin"],
      adminsFile: file,
    });
    const asDave = agentFor(pki.ca.certPem, dave);
    const asErin = agentFor(pki.ca.certPem, erin);
    const everyone = async (agent: Agent) => (await call(agent, `${server.url}/jobs?owner=*`)).status;
    try {
      assert.deepEqual(server.admins(), ["erin"]);
      assert.equal(await everyone(asDave), 403);

      await writeFile(file, "# ops\n  dave  \n\nerin\n");
      assert.deepEqual(await server.reloadAdmins(), { admins: ["dave", "erin"], added: ["dave"], removed: [] });
      assert.equal(await everyone(asDave), 200, "on the same connection too: asked per request");

      // A bad line, a file others may write, a missing file: refused, naming why; the list stays.
      await writeFile(file, "dave\nbad\u0001name\n");
      await assert.rejects(server.reloadAdmins(), (err: Error) => err instanceof ServerConfigError && /line 2/.test(err.message));
      await writeFile(file, "dave\n");
      await chmod(file, 0o666);
      await assert.rejects(server.reloadAdmins(), /writable by group or others/);
      await chmod(file, 0o600);
      await writeFile(file, "*\n");
      await assert.rejects(server.reloadAdmins(), /"\*" is not an identity/);
      assert.deepEqual(server.admins(), ["dave", "erin"]);
      assert.equal(await everyone(asDave), 200);

      // Emptied: dave loses the role at once; erin (--admin, fixed) keeps it.
      await writeFile(file, "");
      assert.deepEqual(await server.reloadAdmins(), { admins: ["erin"], added: [], removed: ["dave"] });
      assert.equal(await everyone(asDave), 403);
      assert.equal(await everyone(asErin), 200);
    } finally {
      await Promise.all([asDave.close(), asErin.close()]);
      await server.close();
      const { rm } = await import("node:fs/promises");
      await rm(pki.dir, { recursive: true, force: true });
    }
  });

  test("a bad admin name or admins file refuses to start, naming it, and opens nothing", async () => {
    const pki = await makePki();
    const dataDir = join(pki.dir, "data");
    const base = { caFile: pki.caFile, certFile: pki.certFile, keyFile: pki.keyFile, pool: { dataDir, isolation: false as const }, auditLog: false as const, log: () => {} };
    try {
      await assert.rejects(startServer({ ...base, admins: ["*"] }), (err: Error) => err instanceof ServerConfigError && /--admin: "\*" is not an identity/.test(err.message));
      await assert.rejects(startServer({ ...base, admins: [""] }), /--admin: "" is not a valid identity/);
      await assert.rejects(startServer({ ...base, adminsFile: join(pki.dir, "missing") }), /cannot read the admins file .*missing: no such file/);
      const { stat } = await import("node:fs/promises");
      await assert.rejects(stat(dataDir), { code: "ENOENT" }, "no data directory was made");
    } finally {
      const { rm } = await import("node:fs/promises");
      await rm(pki.dir, { recursive: true, force: true });
    }
  });
});
