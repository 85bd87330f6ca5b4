// The launcher protocol (native/PROTOCOL.md) end to end: the frames the TypeScript makes
// (src/engine/start/launcher-protocol.ts) go through the C parser of the built launcher,
// spawned here directly as the engine spawns it, and what it answers goes back through
// parseEvent. Requests the engine never sends (a junk uid, an unknown option, a handle
// too long) are crafted with the same field layout.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LAUNCHER_PROGRAM } from "../../src/engine/start/launcher.js";
import { frame, LAUNCHER_HELLO, parseEvent, startFrame, type LaunchRequest } from "../../src/engine/start/launcher-protocol.js";
import { DEFAULT_JOB_PATH } from "../../src/engine/job-env.js";
import { tempDir } from "../helpers/temp-dir.js";

/** The launcher's event lines, in order, each taken once. */
class Lines {
  private readonly queue: string[] = [];
  private readonly waiting: ((line: string | undefined) => void)[] = [];
  private pending = "";
  private ended = false;
  /** Every line received, for the final check. */
  readonly all: string[] = [];

  constructor(child: ChildProcess) {
    child.stdout!.setEncoding("latin1");
    child.stdout!.on("data", (text: string) => {
      const lines = (this.pending + text).split("\n");
      this.pending = lines.pop()!;
      for (const line of lines) {
        this.all.push(line);
        const next = this.waiting.shift();
        if (next) next(line);
        else this.queue.push(line);
      }
    });
    child.stdout!.on("end", () => {
      this.ended = true;
      for (const next of this.waiting.splice(0)) next(undefined);
    });
  }

  /** The next line; undefined once the launcher's stdout has ended. */
  next(): Promise<string | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Lines received and not taken yet. */
  get unread(): string[] {
    return [...this.queue];
  }
}

/** The fields of a frame, as the launcher's split_frame sees them. */
function fieldsOf(buffer: Buffer): string[] {
  const length = buffer.readUInt32LE(0);
  assert.equal(length, buffer.length - 4, "the length prefix counts the body");
  const body = buffer.subarray(4).toString("utf8");
  assert.ok(body.endsWith("\0"), "every field is NUL-terminated");
  return body.slice(0, -1).split("\0");
}

/** Indexes of the fixed fields of "start" (native/PROTOCOL.md). */
const UID = 10;
const GID = 11;

describe("the launcher protocol, TypeScript frames through the C parser", { timeout: 60_000 }, () => {
  const dir = tempDir();
  let launcher: ChildProcess;
  let lines: Lines;
  after(() => {
    if (launcher && launcher.exitCode === null && launcher.signalCode === null) launcher.kill("SIGKILL");
    dir.remove();
  });

  /** A request of the engine's shape for `argv`, its output in the temp dir under `name`. */
  function request(name: string, argv: string[], extra: Partial<LaunchRequest> = {}): LaunchRequest {
    return {
      cwd: dir.path,
      stdoutPath: join(dir.path, `${name}.stdout`),
      stderrPath: join(dir.path, `${name}.stderr`),
      cgroupProcsFiles: [],
      env: { PATH: DEFAULT_JOB_PATH, LANG: "C.UTF-8" },
      argv,
      ...extra,
    };
  }

  function send(buffer: Buffer): void {
    launcher.stdin!.write(buffer);
  }

  async function expectLine(pattern: RegExp, what: string): Promise<RegExpMatchArray> {
    const line = await lines.next();
    assert.ok(line !== undefined, `${what}: the launcher's stdout ended`);
    const match = pattern.exec(line);
    assert.ok(match, `${what}: got ${JSON.stringify(line)}, expected ${pattern}`);
    return match;
  }

  /** Sends a start and expects it started and then exited with `code`; returns the pid. */
  async function runToExit(handle: string, buffer: Buffer, code: number): Promise<number> {
    send(buffer);
    const [, pid] = await expectLine(new RegExp(`^started ${handle} (\\d+) (\\d+|-)$`), `start ${handle}`);
    await expectLine(new RegExp(`^exit ${handle} ${code} - - - \\d+ \\d+ \\d+ \\d+ \\d+$`), `exit of ${handle}`);
    return Number(pid);
  }

  before(async () => {
    launcher = spawn(LAUNCHER_PROGRAM, [String(process.pid)], { stdio: ["pipe", "pipe", "ignore"], detached: true, env: {} });
    launcher.stdin!.on("error", () => {});
    lines = new Lines(launcher);
  });

  it("says hello first, in protocol version 2", async () => {
    assert.equal(await lines.next(), LAUNCHER_HELLO);
    assert.equal(LAUNCHER_HELLO, "hello jobworker-launcher 3");
  });

  it("starts a plain `true`: started, then exit 0", async () => {
    const buffer = startFrame("1", request("true", ["true"]));
    // The frame is what `frame` makes of its fields: the crafted requests below share its layout.
    assert.deepEqual(frame(fieldsOf(buffer)), buffer);
    const pid = await runToExit("1", buffer, 0);
    assert.ok(pid > 1 && pid !== launcher.pid, `a pid of its own: ${pid}`);
    assert.equal(readFileSync(join(dir.path, "true.stdout")).length, 0);
  });

  it("passes env and args with spaces, unicode and '=' byte for byte", async () => {
    const value = "a b  c=d==e ünïcödé €𝄞 \t tab 'q' \"dq\" $HOME \\n";
    const args = ["first arg", "ü=€", "=", "x=y=z", " lead", "trail ", "", "𝄞"];
    const script = 'printf %s "$X"; printf "|%s" "$@"; printf "|%s" "$Y=="';
    const buffer = startFrame(
      "2",
      request("env", ["sh", "-c", script, "sh-name", ...args], { env: { PATH: DEFAULT_JOB_PATH, X: value, Y: "=y= ü" } }),
    );
    await runToExit("2", buffer, 0);
    const expected = Buffer.from(value + args.map((arg) => `|${arg}`).join("") + "|=y= ü==", "utf8");
    assert.deepEqual(readFileSync(join(dir.path, "env.stdout")), expected);
    assert.equal(readFileSync(join(dir.path, "env.stderr"), "utf8"), "");
  });

  it("refuses a junk uid (which the TypeScript API cannot express): exit H - - request 22", async () => {
    const fields = fieldsOf(startFrame("3", request("uid", ["true"], { cwd: "/", runAs: { uid: 65534, gid: 65534 } })));
    assert.equal(fields[UID], "65534");
    assert.equal(fields[GID], "65534");
    // The same request with a sound uid runs (as nobody), so the refusal below is the uid's.
    await runToExit("3", frame(fields), 0);
    for (const [handle, uid] of [["4", "12x"], ["5", "-1"], ["6", " 12"], ["7", "4294967295"], ["8", "99999999999999999999"]] as const) {
      send(frame(fields.map((value, i) => (i === 1 ? handle : i === UID ? uid : value))));
      await expectLine(new RegExp(`^exit ${handle} - - request 22$`), `uid ${JSON.stringify(uid)}`);
    }
    // UID given without GID is refused too.
    send(frame(fields.map((value, i) => (i === 1 ? "9" : i === GID ? "" : value))));
    await expectLine(/^exit 9 - - request 22$/, "a uid without a gid");
  });

  it("refuses an unknown option key, and a missing or extra field: exit H - - request 22", async () => {
    const fields = fieldsOf(startFrame("10", request("opt", ["true"])));
    assert.equal(fields.at(-1), "0", "no options: NOPT 0 ends the request");
    const withOptions = (handle: string, ...options: string[]) =>
      frame([...fields.slice(0, -1), String(options.length), ...options].map((value, i) => (i === 1 ? handle : value)));
    send(withOptions("10", "bogus=1"));
    await expectLine(/^exit 10 - - request 22$/, "option bogus=1");
    send(withOptions("11", "bogus=/x"));
    await expectLine(/^exit 11 - - request 22$/, "option bogus=/x (a path value, an unknown key)");
    send(withOptions("12", "confine=2"));
    await expectLine(/^exit 12 - - request 22$/, "confine=2");
    send(withOptions("13", "confine=0", "confine=0"));
    await expectLine(/^exit 13 - - request 22$/, "confine given twice");
    // A known option, accepted: the same layout runs.
    await runToExit("14", withOptions("14", "confine=0", "writable=/tmp"), 0);
    // Nothing may follow the options; none may be missing.
    send(frame([...fields, "extra"].map((value, i) => (i === 1 ? "15" : value))));
    await expectLine(/^exit 15 - - request 22$/, "an extra field");
    send(frame(fields.slice(0, -1).map((value, i) => (i === 1 ? "16" : value))));
    await expectLine(/^exit 16 - - request 22$/, "no NOPT");
  });

  it("drops a start whose handle is too long, unanswered, and stays alive for the next", async () => {
    const tooLong = "h".repeat(24);
    const longest = "k".repeat(23);
    send(startFrame(tooLong, request("long", ["true"])));
    // Answered in order: had the dropped one been answered, that line would come first.
    await runToExit(longest, startFrame(longest, request("longest", ["true"])), 0);
    await runToExit("17", startFrame("17", request("after", ["sh", "-c", "exit 3"])), 3);
    assert.equal(lines.all.filter((line) => line.includes(tooLong)).length, 0, "nothing names the dropped handle");
    assert.equal(launcher.exitCode, null, "the launcher still runs");
    // A handle with a space could not be answered either: dropped.
    send(startFrame("a b", request("space", ["true"])));
    await runToExit("18", startFrame("18", request("after-space", ["true"])), 0);
    assert.equal(lines.all.filter((line) => /\ba b\b/.test(line)).length, 0);
  });

  it("every line it produced parses as an event, and it exits 0 when its stdin closes", async () => {
    assert.deepEqual(lines.unread, [], "no line was left unexpected");
    const events = lines.all.slice(1);
    assert.ok(events.length >= 20, `events seen: ${events.length}`);
    for (const line of events) assert.notEqual(parseEvent(line).kind, "unknown", `parseEvent(${JSON.stringify(line)})`);
    const refused = parseEvent("exit 4 - - request 22");
    assert.deepEqual(refused, { kind: "exit", handle: "4", exit: { code: null, signal: null, failure: { step: "request", code: "EINVAL" } } });
    // An exit after a fork carries the leader's rusage; four numbers, or a word among them, are no event.
    assert.deepEqual(parseEvent("exit 5 0 - - - 1500 250 2048 8 16"), {
      kind: "exit",
      handle: "5",
      exit: { code: 0, signal: null, rusage: { userUs: 1500, systemUs: 250, maxRssKiB: 2048, blocksIn: 8, blocksOut: 16 } },
    });
    assert.equal(parseEvent("exit 5 0 - - - 1500 250 2048 8").kind, "unknown");
    assert.equal(parseEvent("exit 5 0 - - - 1500 250 x 8 16").kind, "unknown");
    assert.equal(parseEvent("started 5 100 7 1 2 3 4 5").kind, "unknown");
    const exited = once(launcher, "exit");
    launcher.stdin!.end();
    const [code, signal] = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    assert.equal(await lines.next(), undefined, "nothing more after the last event");
  });
});
