// `run --on` and `list --on` through the built binary against three real servers on
// loopback (and one address where nothing listens): prefixed lines that never mix,
// byte-exact --output-dir files, a host down, Ctrl-C reaching every host, the exit status.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cli, cliMeasured } from "./fixtures.js";
import { createFleet, type Fleet } from "./fleet-fixtures.js";

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

describe("jobworker run --on / list --on (e2e)", () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await createFleet(3);
    // The contexts as `jobworker context add` writes them (test/e2e/contexts.test.ts tests
    // that command); written here directly to spare four runs of the CLI.
    const files = { ca: fleet.pki.caCert, cert: fleet.pki.clientCert("default"), key: fleet.pki.clientKey("default") };
    const contexts = Object.fromEntries([...fleet.servers.map((s, i) => [`web${i}`, { server: s.url, ...files }]), ["down", { server: fleet.downUrl, ...files }]]);
    await writeFile(join(fleet.home, "config.json"), JSON.stringify({ contexts }), { mode: 0o600 });
  });
  after(async () => {
    await fleet?.close();
  });

  /** The summary line of each host, by context name. */
  function summaries(stderr: string): Map<string, string> {
    const lines = stderr.split("\n").filter((l) => l.startsWith("jobworker: "));
    return new Map(lines.map((l) => [l.slice("jobworker: ".length, l.indexOf(":", "jobworker: ".length)), l]));
  }

  /** The job id a host's summary line names. */
  function jobIdOf(line: string): string {
    const id = new RegExp(`job (${UUID})`).exec(line)?.[1];
    assert.ok(id, line);
    return id;
  }

  it("prefixes every line with its context, never mixing two hosts' lines, stdout and stderr apart", async () => {
    // 300 lines per host, each written in two parts, so that lines arrive split across chunks.
    const script = 'i=0; while [ $i -lt 300 ]; do printf "line-%s-" $i; printf "%s\\n" abcdefghijklmnopqrstuvwxyz; i=$((i+1)); done; echo oops >&2; printf tail';
    const r = await cli(["run", "--on", "web0,web1,web2", "--", "sh", "-c", script], fleet.env);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.toString().split("\n");
    assert.equal(lines.pop(), ""); // the output ends with a newline: the unterminated "tail" was flushed with one
    for (const host of ["web0", "web1", "web2"]) {
      const mine = lines.filter((l) => l.startsWith(`${host}: `)).map((l) => l.slice(host.length + 2));
      assert.deepEqual(mine, [...Array.from({ length: 300 }, (_, i) => `line-${i}-abcdefghijklmnopqrstuvwxyz`), "tail"]);
    }
    assert.equal(lines.length, 3 * 301, "every stdout line belongs to a host, whole");
    const errLines = r.stderr.split("\n").filter((l) => !l.startsWith("jobworker: ") && l !== "");
    assert.deepEqual(errLines.sort(), ["web0: oops", "web1: oops", "web2: oops"]);
    const ends = summaries(r.stderr);
    for (const host of ["web0", "web1", "web2"]) assert.match(ends.get(host) ?? "", new RegExp(`^jobworker: ${host}: completed \\(exit 0\\), job ${UUID}$`));
  });

  it("writes DIR/<context>.stdout and .stderr byte-exact with --output-dir", async () => {
    const out = randomBytes(256 * 1024); // every byte value, no trailing newline guaranteed
    const err = randomBytes(4096);
    await writeFile(join(fleet.home, "out.bin"), out);
    await writeFile(join(fleet.home, "err.bin"), err);
    const dir = join(fleet.home, "outputs");
    const r = await cli(["run", "--on", "all", "--output-dir", dir, "--", "sh", "-c", `cat ${join(fleet.home, "out.bin")}; cat ${join(fleet.home, "err.bin")} >&2`], fleet.env);
    // --on all includes "down": it fails, so the run exits 1, and its files are empty.
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout.length, 0);
    for (const host of ["web0", "web1", "web2"]) {
      assert.ok((await readFile(join(dir, `${host}.stdout`))).equals(out), `${host}.stdout`);
      assert.ok((await readFile(join(dir, `${host}.stderr`))).equals(err), `${host}.stderr`);
    }
    assert.equal((await readFile(join(dir, "down.stdout"))).length, 0);
    assert.match(summaries(r.stderr).get("down") ?? "", /^jobworker: down: failed: cannot reach the server at https:\/\/127\.0\.0\.1:\d+: connection refused/);
  });

  it("reports a host that is down and still runs the job on the others", async () => {
    const r = await cli(["run", "--on", "web0,down,web2", "--", "echo", "hi"], fleet.env);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stdout.toString().split("\n").sort(), ["", "web0: hi", "web2: hi"]);
    const ends = summaries(r.stderr);
    assert.match(ends.get("down")!, /failed: cannot reach the server/);
    assert.match(ends.get("web0")!, /completed \(exit 0\)/);
    assert.match(ends.get("web2")!, /completed \(exit 0\)/);
  });

  it("exits 0 only if every host's job exited 0", async () => {
    const all0 = await cli(["run", "--on", "web0,web1,web2", "--", "true"], fleet.env);
    assert.equal(all0.code, 0, all0.stderr);
    // Exactly one host wins the atomic mkdir (isolation is off: they share /tmp).
    const lock = join(fleet.home, `lock-${Date.now()}`);
    const mixed = await cli(["run", "--on", "web0,web1,web2", "--", "sh", "-c", `mkdir ${lock} 2>/dev/null || exit 5`], fleet.env);
    assert.equal(mixed.code, 1, mixed.stderr);
    const lines = [...summaries(mixed.stderr).values()];
    assert.equal(lines.filter((l) => /completed \(exit 0\)/.test(l)).length, 1, mixed.stderr);
    assert.equal(lines.filter((l) => /completed \(exit 5\)/.test(l)).length, 2, mixed.stderr);
    const json = await cli(["run", "--on", "web0,down", "--json", "--", "sh", "-c", "echo out"], fleet.env);
    assert.equal(json.code, 1);
    const doc = JSON.parse(json.stdout.toString());
    assert.equal(doc.hosts[0].context, "web0");
    assert.equal(doc.hosts[0].exit_code, 0);
    assert.equal(doc.hosts[0].stdout, "out\n");
    assert.equal(doc.hosts[1].code, "SERVER_UNREACHABLE");
  });

  it("stops the job on every host on Ctrl-C, and exits 130", async () => {
    let sent = false;
    const r = await cli(["run", "--on", "web0,web1,web2", "--", "sh", "-c", "echo started; exec sleep 60"], fleet.env, (child, stdout) => {
      child.stdout!.on("data", () => {
        const started = stdout().toString().split("\n").filter((l) => l.endsWith(": started")).length;
        if (started === 3 && !sent) {
          sent = true;
          child.kill("SIGINT");
        }
      });
    });
    assert.ok(sent, "every host's job started");
    assert.equal(r.code, 130, r.stderr);
    const ends = summaries(r.stderr);
    for (const [i, host] of ["web0", "web1", "web2"].entries()) {
      const line = ends.get(host)!;
      assert.match(line, /completed \(killed by SIGTERM, exit 143\)/);
      const status = fleet.servers[i]!.pool.status(jobIdOf(line));
      assert.equal(status.state, "completed");
      assert.equal(status.signal, "SIGTERM");
    }
  });

  it("works on at most --parallel hosts at once", async () => {
    const r = await cli(["run", "--on", "web0,web1,web2", "--parallel", "1", "--", "true"], fleet.env);
    assert.equal(r.code, 0, r.stderr);
    const ends = summaries(r.stderr);
    const records = ["web0", "web1", "web2"].map((host, i) => fleet.servers[i]!.pool.list({}).find((j) => j.id === jobIdOf(ends.get(host)!))!);
    // One after the other: each job was created after the one before it had ended.
    for (let i = 1; i < records.length; i++) assert.ok(records[i]!.createdAt >= records[i - 1]!.endedAt!, JSON.stringify(records));
  });

  it("lists the jobs of several hosts with a HOST column, and names a host that failed", async () => {
    const r = await cli(["list", "--on", "web0,down,web1", "--limit", "1"], fleet.env);
    assert.equal(r.code, 1);
    const rows = r.stdout.toString().trim().split("\n").map((l) => l.split(/\s+/));
    assert.deepEqual(rows[0]!.slice(0, 3), ["HOST", "ID", "STATUS"]);
    assert.deepEqual(rows.slice(1).map((row) => row[0]), ["web0", "web1"]);
    assert.match(r.stderr, /^jobworker: down: cannot reach the server/m);
    assert.match(r.stderr, /^more jobs on web0: jobworker list --context web0 --limit 1 --cursor \S+ \(or --all\)$/m);
    const json = JSON.parse((await cli(["list", "--on", "web2", "--json", "--all"], fleet.env)).stdout.toString());
    assert.equal(json.hosts[0].context, "web2");
    assert.ok(json.hosts[0].jobs.length >= 5);
  });

  it("refuses contradictory or unknown --on uses before starting anything", async () => {
    const cases: [string[], number, RegExp][] = [
      [["run", "--on", "web0,nope", "--", "true"], 1, /no context named "nope"/],
      [["run", "--on", "web0", "--server", fleet.servers[0]!.url, "--", "true"], 2, /--server cannot be used with --on/],
      [["run", "--on", "web0", "-i", "--", "cat"], 2, /--stdin cannot be used with --on/],
      [["run", "--output-dir", join(fleet.home, "x"), "--", "true"], 2, /--output-dir needs --on/],
      [["run", "--parallel", "2", "--", "true"], 2, /--parallel needs --on/],
      [["run", "--on", "web0,,web1", "--", "true"], 2, /--on takes context names separated by commas/],
      [["list", "--on", "web0", "--cursor", "x"], 2, /--cursor cannot be used with --on/],
    ];
    const before = fleet.servers.map((s) => s.pool.list({}).length);
    for (const [args, code, message] of cases) {
      const r = await cli(args, fleet.env);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.deepEqual(fleet.servers.map((s) => s.pool.list({}).length), before);
  });

  it("run --on --json of 2 x 150 MB stays under 200 MB of RSS, streamed host after host", { timeout: 180_000 }, async () => {
    const each = 150 * 1024 * 1024;
    const r = await cliMeasured(["run", "--on", "web0,web1", "--json", "--", "sh", "-c", `yes 0123456789abcdef | head -c ${each}`], fleet.env);
    assert.equal(r.code, 0, r.stderr);
    // Every byte of both hosts' output is there ("\n" written as two characters).
    assert.ok(r.bytes > 2 * each, `printed ${r.bytes} bytes`);
    assert.ok(r.head.startsWith("{"), r.head);
    assert.ok(r.tail.trimEnd().endsWith("}"), r.tail);
    assert.ok(r.peak > 0, "the CLI's memory was read while it ran");
    assert.ok(r.peak < 200 * 1024 * 1024, `peak RSS ${(r.peak / 2 ** 20).toFixed(0)} MiB`);
    console.log(`# run --on --json: ${r.bytes} bytes of JSON from 2 hosts, peak RSS of the CLI ${(r.peak / 2 ** 20).toFixed(1)} MiB`);
  });
});
