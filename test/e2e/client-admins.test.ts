// Admins end to end, all through the built binary: `serve --admin alice --admins-file F`,
// `list --owner NAME` and `--all-owners` (with an OWNER column), an admin's `status` and
// `stop` of another identity's job, and SIGHUP re-reading F to give and take the role.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { initPki, pkiPaths } from "../../src/pki/index.js";
import { cli, serve, type Serving } from "./fixtures.js";

let home: string;
let adminsFile: string;
let serving: Serving;

before(async () => {
  home = await mkdtemp(join(tmpdir(), "jobworker-admins-"));
  // A PKI made ahead: serve uses it as <home>/pki instead of creating one.
  await initPki({ dir: join(home, "pki"), clients: ["default", "alice", "carol"] });
  adminsFile = join(home, "admins");
  await writeFile(adminsFile, "# carol is not an admin yet\n", { mode: 0o600 });
  serving = await serve(home, ["--listen", "127.0.0.1:0", "--admin", "alice", "--admins-file", adminsFile]);
});
after(async () => {
  if (serving) {
    serving.child.kill("SIGTERM");
    await serving.exited;
  }
  await rm(home, { recursive: true, force: true });
});

/** The CLI as one of the PKI's clients. */
function as(name: string, args: string[]) {
  const pki = pkiPaths(join(home, "pki"));
  return cli(args, { ...serving.env, JOBWORKER_CERT: pki.clientCert(name), JOBWORKER_KEY: pki.clientKey(name) });
}

/** Sends SIGHUP and waits for the serve line that answers it (the `n`-th such line). */
async function hangUp(n: number): Promise<string> {
  serving.child.kill("SIGHUP");
  const answered = () => serving.stderr().match(/^jobworker: (reloaded the admin list|admin list reload failed).*$/gm) ?? [];
  const deadline = Date.now() + 10_000;
  while (answered().length < n) {
    if (Date.now() > deadline) throw new Error(`serve did not answer SIGHUP: ${serving.stderr()}`);
    await new Promise((done) => serving.child.stderr!.once("data", done));
  }
  return answered()[n - 1]!;
}

describe("jobworker list --owner / --all-owners", () => {
  let defaultJob: string;
  let carolJob: string;

  before(async () => {
    const started = await as("default", ["start", "--", "sleep", "60"]);
    assert.equal(started.code, 0, started.stderr);
    defaultJob = started.stdout.toString().trim();
    const ran = await as("carol", ["run", "--", "echo", "hi"]);
    assert.equal(ran.code, 0, ran.stderr);
    carolJob = (JSON.parse((await as("carol", ["list", "--json"])).stdout.toString()) as { jobs: { id: string }[] }).jobs[0]!.id;
  });

  it("says at start who the admins are and that SIGHUP re-reads the file", () => {
    assert.match(serving.stderr(), new RegExp(`admins \\(may act on every job\\): alice; SIGHUP re-reads ${adminsFile}`));
  });

  it("an admin lists everyone's jobs with an OWNER column, or one identity's", async () => {
    const all = await as("alice", ["list", "--all-owners"]);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.toString().trimEnd().split("\n");
    assert.match(lines[0]!, /^OWNER +ID +STATUS +EXIT +AGE +COMMAND$/);
    assert.ok(lines.some((l) => new RegExp(`^default +${defaultJob} +running `).test(l)), all.stdout.toString());
    assert.ok(lines.some((l) => new RegExp(`^carol +${carolJob} +completed `).test(l)), all.stdout.toString());

    const carols = await as("alice", ["list", "--owner", "carol", "--json"]);
    assert.equal(carols.code, 0, carols.stderr);
    assert.deepEqual(
      (JSON.parse(carols.stdout.toString()) as { jobs: { id: string; owner: string }[] }).jobs.map((j) => [j.id, j.owner]),
      [[carolJob, "carol"]],
    );
    // Its own list has no OWNER column: nothing spans identities.
    const own = await as("alice", ["list"]);
    assert.match(own.stdout.toString(), /^ID +STATUS +EXIT +AGE +COMMAND\n$/);
  });

  it("an admin reads and stops another identity's job with the usual commands", async () => {
    const status = await as("alice", ["status", defaultJob]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout.toString(), /running/);
    const stop = await as("alice", ["stop", defaultJob]);
    assert.equal(stop.code, 0, stop.stderr);
    const after = await as("default", ["status", defaultJob, "--json"]);
    assert.equal(JSON.parse(after.stdout.toString()).status, "completed");
  });

  it("anyone else is refused with one line saying only admins may, exit 1; their own name works", async () => {
    for (const args of [["--all-owners"], ["--owner", "default"]]) {
      const refused = await as("carol", ["list", ...args]);
      assert.equal(refused.code, 1, args.join(" "));
      assert.equal(refused.stdout.length, 0);
      assert.match(refused.stderr, /^jobworker: .*only the server's admins may list/m);
      assert.match(refused.stderr, /serve --admin/);
    }
    const own = await as("carol", ["list", "--owner", "carol"]);
    assert.equal(own.code, 0, own.stderr);
    // The same as no --owner: no OWNER column (docs/cli.md).
    assert.match(own.stdout.toString(), new RegExp(`^ID +STATUS .*\n${carolJob} +completed`));
    // AGE may tick between the two listings.
    const withoutAge = (table: string) => table.replace(/ {2,}\d+[smhd] {2,}/g, "  AGE  ");
    assert.equal(withoutAge(own.stdout.toString()), withoutAge((await as("carol", ["list"])).stdout.toString()));
    // Another identity's job by id: the usual "no such job".
    const theirs = await as("carol", ["status", defaultJob]);
    assert.equal(theirs.code, 1);
    assert.match(theirs.stderr, /no such job/);
  });

  it("--owner and --all-owners together, or an empty --owner, are usage errors (exit 2)", async () => {
    const both = await as("alice", ["list", "--owner", "carol", "--all-owners"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /cannot be used with/);
    const empty = await as("alice", ["list", "--owner", ""]);
    assert.equal(empty.code, 2);
  });

  it("SIGHUP re-reads the admins file: carol gains the role, keeps it through a bad file, loses it when removed", async () => {
    await writeFile(adminsFile, "# ops\ncarol\n");
    assert.match(await hangUp(1), /reloaded the admin list: alice, carol; added carol/);
    const granted = await as("carol", ["list", "--all-owners"]);
    assert.equal(granted.code, 0, granted.stderr);
    assert.match(granted.stdout.toString(), /^default +\S+ +completed /m);

    await writeFile(adminsFile, "carol\nbad\u0007\n");
    assert.match(await hangUp(2), /admin list reload failed, keeping the previous admins: .*line 2/);
    assert.equal((await as("carol", ["list", "--all-owners"])).code, 0);

    await writeFile(adminsFile, "# nobody\n");
    assert.match(await hangUp(3), /reloaded the admin list: alice; removed carol/);
    assert.equal((await as("carol", ["list", "--all-owners"])).code, 1);
    // alice was named by --admin: fixed for the server's life.
    assert.equal((await as("alice", ["list", "--all-owners"])).code, 0);
  });
});
