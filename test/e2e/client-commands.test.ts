// The client commands through the built binary against a real mTLS server: happy
// paths, --json, argument pass-through and identities.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { asClient, cli, createWorld, type TestWorld, statusSummary } from "./fixtures.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("client commands (e2e)", () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => {
    await world?.close();
  });

  /** Starts a job with the CLI and returns its id. */
  async function start(args: string[], env = world.env): Promise<string> {
    const r = await cli(["start", "--", ...args], env);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.toString().trim();
    assert.match(id, UUID);
    return id;
  }

  it("start prints only the id; output -f waits for the end; status summarizes", async () => {
    const r = await cli(["start", "--", "sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 3"], world.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout.toString(), new RegExp(`^${UUID.source.slice(1, -1)}\n$`));
    const id = r.stdout.toString().trim();

    const out = await cli(["output", "-f", id], world.env);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.toString(), "out\n");
    assert.equal(out.stderr, "err\n");

    const st = await cli(["status", id], world.env);
    assert.equal(statusSummary(st), "completed (exit 3)\n");
    const stJson = await cli(["status", "--json", id], world.env);
    assert.deepEqual(JSON.parse(stJson.stdout.toString()), { status: "completed", exit_code: 3 });

    const outJson = await cli(["output", "--json", id], world.env);
    assert.deepEqual(JSON.parse(outJson.stdout.toString()), { stdout: "out\n", stderr: "err\n" });
  });

  it("start --json prints the API's {id}", async () => {
    const r = await cli(["start", "--json", "--", "true"], world.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(JSON.parse(r.stdout.toString()).id, UUID);
  });

  it("arguments that look like options go to the job, with or without --", async () => {
    const a = await cli(["run", "--", "sh", "-c", "echo --json \"$@\"", "sh", "-x", "--help"], world.env);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout.toString(), "--json -x --help\n");
    const b = await cli(["run", "echo", "-n", "--json", "-la"], world.env);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout.toString(), "--json -la");
  });

  it("run passes --env and --cwd", async () => {
    const r = await cli(["run", "-e", "GREETING=hi there", "-C", "/tmp", "--", "sh", "-c", 'echo "$GREETING"; pwd'], world.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "hi there\n/tmp\n");
  });

  it("list shows an aligned table, newest first, and --json the API's list", async () => {
    const env = asClient(world, "alice");
    const first = await start(["sh", "-c", "exit 0"], env);
    const second = await start(["sleep", "1000"], env);
    const table = await cli(["list"], env);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.toString().trimEnd().split("\n");
    assert.match(lines[0]!, /^ID\s+STATUS\s+EXIT\s+AGE\s+COMMAND$/);
    assert.ok(lines[1]!.startsWith(second) && /\srunning\s+-\s+\d+[sm]\s+sleep 1000$/.test(lines[1]!), lines[1]);
    assert.ok(lines[2]!.startsWith(first) && lines[2]!.endsWith("sh -c 'exit 0'"), lines[2]);
    // Aligned: STATUS starts at the same column on every line.
    assert.equal(new Set(lines.map((l) => l.search(/(STATUS|running|completed)/))).size, 1);

    const json = JSON.parse((await cli(["list", "--json"], env)).stdout.toString());
    assert.deepEqual(json.jobs.map((j: { id: string }) => j.id), [second, first]);
    assert.equal(json.jobs[0].status, "running");
    assert.deepEqual(json.jobs[1].args, ["-c", "exit 0"]);

    const stop = await cli(["stop", second], env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout.toString(), "completed (killed by SIGTERM, exit 143)\n");
    const stopJson = await cli(["stop", "--json", second], env);
    assert.equal(JSON.parse(stopJson.stdout.toString()).signal, "SIGTERM");
  });

  it("delete removes the job; then it is unknown", async () => {
    const id = await start(["true"]);
    const del = await cli(["delete", id], world.env);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout.length, 0);
    const again = await cli(["delete", "--json", id], world.env);
    assert.equal(again.code, 1);
    const id2 = await start(["true"]);
    const delJson = await cli(["delete", "--json", id2], world.env);
    assert.deepEqual(JSON.parse(delJson.stdout.toString()), { id: id2, deleted: true });
  });

  it("identities are separate: bob cannot see or touch alice's job", async () => {
    const alice = asClient(world, "alice");
    const bob = { ...world.env, JOBWORKER_CERT: "/nonexistent" }; // flags must beat env
    const id = await start(["sleep", "1000"], alice);
    const bobFlags = ["--cert", world.pki.clientCert("bob"), "--key", world.pki.clientKey("bob")];
    for (const cmd of ["status", "output", "stop", "delete"]) {
      const r = await cli([cmd, ...bobFlags, id], bob);
      assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
      assert.equal(r.stderr, `jobworker: no such job: ${id} (it does not exist or belongs to another identity; \`jobworker list\` shows yours)\n`);
    }
    const bobList = JSON.parse((await cli(["list", "--json", ...bobFlags], bob)).stdout.toString());
    assert.ok(!bobList.jobs.some((j: { id: string }) => j.id === id));
    assert.equal(statusSummary(await cli(["status", id], alice)), "running\n");
    await cli(["delete", id], alice);
  });

  it("kill sends one signal (default SIGTERM, -s as kill(1) takes it) to each job; an ended job fails", async () => {
    const [first, second] = [await start(["sleep", "30"]), await start(["sleep", "30"])];
    const int = await cli(["kill", "-s", "int", first], world.env);
    assert.equal(int.code, 0, int.stderr);
    assert.equal(int.stdout.toString(), "");
    assert.equal((await cli(["wait", first], world.env)).code, 1);
    assert.equal(statusSummary(await cli(["status", first], world.env)), "completed (killed by SIGINT, exit 130)\n");
    const term = await cli(["kill", second], world.env);
    assert.equal(term.code, 0, term.stderr);
    await cli(["wait", second], world.env);
    assert.equal(statusSummary(await cli(["status", second], world.env)), "completed (killed by SIGTERM, exit 143)\n");

    const ended = await cli(["kill", first], world.env);
    assert.equal(ended.code, 1);
    assert.match(ended.stderr, /not running/);
    // Several ids: each tried, each failure named, exit 1.
    const third = await start(["sleep", "30"]);
    const both = await cli(["kill", "-s", "9", first, third], world.env);
    assert.equal(both.code, 1);
    assert.match(both.stderr, new RegExp(`${first}: .*not running`));
    await cli(["wait", third], world.env);
    assert.equal(statusSummary(await cli(["status", third], world.env)), "completed (killed by SIGKILL, exit 137)\n");

    const bad = await cli(["kill", "-s", "FOO", third], world.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a signal: FOO/);
  });

  it("start --label labels a job; list --label (all must match) and --status find it", async () => {
    const labelled = async (...args: string[]) => {
      const r = await cli(["start", ...args], world.env);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.toString().trim();
    };
    const web = await labelled("--label", "app=web", "--label", "env=ci", "--", "true");
    const db = await labelled("--label", "app=db", "--", "sleep", "30");
    await cli(["wait", web], world.env);
    const listed = async (...args: string[]) => JSON.parse((await cli(["list", "--json", ...args], world.env)).stdout.toString()).jobs.map((j: { id: string }) => j.id);
    assert.deepEqual(await listed("--label", "app=web", "--label", "env=ci"), [web]);
    assert.deepEqual(await listed("--label", "app=db", "--status", "running"), [db]);
    assert.deepEqual(await listed("--label", "app=web", "--status", "running"), []);
    const record = JSON.parse((await cli(["list", "--json", "--label", "app=web"], world.env)).stdout.toString()).jobs[0];
    assert.deepEqual(record.labels, { app: "web", env: "ci" });
    const bad = await cli(["start", "--label", "Bad=x", "--", "true"], world.env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /key "Bad" must be 1 to 63 characters/);
    const usage = await cli(["list", "--status", "paused"], world.env);
    assert.equal(usage.code, 2);
    await cli(["stop", db], world.env);
  });
});
