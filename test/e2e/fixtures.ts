// Shared fixtures of the client tests: a real PKI from initPki, a real server from
// startServer on 127.0.0.1 port 0, and the built CLI spawned as a child process.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { initPki, pkiPaths, type PkiPaths } from "../../src/pki/index.js";
import type { QueueOptions } from "../../src/engine/index.js";
import { startServer, type RunningServer } from "../../src/server/index.js";

/** The built binary: tests drive what users run (`npm test` builds first). */
export const CLI = resolve(fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url)));

/** A temp home with a PKI (clients default, alice, bob), a second unrelated PKI, and a running server. */
export interface TestWorld {
  home: string;
  pki: PkiPaths;
  /** Another CA with its own server and client "mallory": trusted by nobody here. */
  otherPki: PkiPaths;
  server: RunningServer;
  /** Environment for the CLI: JOBWORKER_HOME and JOBWORKER_SERVER set, nothing else of ours. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** Creates a {@link TestWorld}; call `close()` in `after`. */
export async function createWorld(options: { queue?: QueueOptions; maxOutputBytes?: number } = {}): Promise<TestWorld> {
  const home = await mkdtemp(join(tmpdir(), "jobworker-client-"));
  const pki = pkiPaths(join(home, "pki"));
  const otherPki = pkiPaths(join(home, "other-pki"));
  await initPki({ dir: pki.dir, clients: ["default", "alice", "bob"] });
  await initPki({ dir: otherPki.dir, clients: ["mallory"] });
  const server = await startServer({
    port: 0,
    caFile: pki.caCert,
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    crlFile: pki.crl,
    pool: {
      dataDir: join(home, "data"),
      stopGraceMs: 2000,
      // The tests hand jobs files under the host's /tmp, which isolation makes private
      // (test/server/isolation-api.test.ts drives an isolating server).
      isolation: false,
      ...(options.maxOutputBytes ? { maxOutputBytes: options.maxOutputBytes } : {}),
      ...(options.queue && { queue: options.queue }),
    },
    auditLog: false,
    log: () => {},
  });
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, JOBWORKER_HOME: home, JOBWORKER_SERVER: server.url };
  return {
    home,
    pki,
    otherPki,
    server,
    env,
    async close() {
      await server.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** What a CLI run produced. */
/** `status`'s usage line: "usage: cpu 0.010s user, 0.002s system; memory peak 1.2 MiB; io 0 B read, 8.0 KiB written", perhaps "(partial)". */
export const USAGE_LINE = /^usage: cpu \d+\.\d{3}s user, \d+\.\d{3}s system; memory peak \d+(\.\d)? (B|KiB|MiB|GiB); io \d+(\.\d)? (B|KiB|MiB|GiB) read, \d+(\.\d)? (B|KiB|MiB|GiB) written( \(partial\))?$/;

/**
 * `jobworker status`'s summary line, with its usage line (once the job has started)
 * checked and set aside: what a test compares is the summary.
 */
export function statusSummary(result: CliResult): string {
  const [summary, ...rest] = result.stdout.toString().split("\n");
  const usage = rest.filter(Boolean);
  if (usage.length > 1 || (usage[0] !== undefined && !USAGE_LINE.test(usage[0]))) throw new Error(`status printed more than its summary and usage: ${JSON.stringify(result.stdout.toString())}`);
  return `${summary}\n`;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Spawns the built CLI. `onSpawn` gets the child (e.g. to send it SIGINT). */
export function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
  onSpawn?: (child: ChildProcess, stdout: () => Buffer) => void,
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolvePromise({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }),
    );
    onSpawn?.(child, () => Buffer.concat(out));
  });
}

/** The peak resident memory of a live process, from /proc (VmHWM only grows); 0 once it is gone. */
export function peakRssBytes(pid: number): number {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "latin1"))?.[1];
    return kib ? Number(kib) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** What {@link cliMeasured} saw of a CLI run. */
export interface MeasuredRun {
  code: number | null;
  /** Bytes on stdout, and its first and last 200 (latin1). */
  bytes: number;
  head: string;
  tail: string;
  /** The CLI's peak RSS, read as its output arrived. */
  peak: number;
  stderr: string;
}

/** Runs the CLI counting its stdout as it comes (never keeping it), with its peak RSS. */
export function cliMeasured(args: string[], env: NodeJS.ProcessEnv): Promise<MeasuredRun> {
  let bytes = 0;
  let head = "";
  let tail = "";
  let peak = 0;
  return new Promise((done, fail) => {
    void cli(args, env, (child) => {
      child.stdout!.removeAllListeners("data"); // counted here; cli() would keep every byte
      child.stdout!.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (head.length < 200) head += chunk.toString("latin1", 0, 200);
        tail = (tail + chunk.toString("latin1", Math.max(0, chunk.length - 200))).slice(-200);
        peak = Math.max(peak, peakRssBytes(child.pid!));
      });
    }).then((r) => done({ code: r.code, bytes, head, tail, peak, stderr: r.stderr }), fail);
  });
}

/** Environment selecting one client certificate of the world's PKI by flags-free env vars. */
export function asClient(world: TestWorld, name: string): NodeJS.ProcessEnv {
  return { ...world.env, JOBWORKER_CERT: world.pki.clientCert(name), JOBWORKER_KEY: world.pki.clientKey(name) };
}

/** A `jobworker serve` child process of the built binary, listening. */
export interface Serving {
  child: ChildProcess;
  /** Environment for the CLI against this server (its home, its URL). */
  env: NodeJS.ProcessEnv;
  exited: Promise<number | null>;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

/**
 * Starts the built `jobworker serve` on `home` (port 0 unless `args` say otherwise) and
 * waits for its listening line. Without isolation unless `isolated`: the tests check the
 * host PIDs their jobs print.
 */
export function serve(home: string, args: string[] = ["--listen", "127.0.0.1:0"], { isolated = false } = {}): Promise<Serving> {
  const flags = ["serve", "--home", home, "--stop-grace-ms", "500", ...(isolated ? [] : ["--no-isolation"]), ...args];
  const child = spawn(process.execPath, [CLI, ...flags], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: process.env.PATH, HOME: home },
  });
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  let stderr = "";
  return new Promise((done, fail) => {
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const port = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1];
      if (port) {
        const env = { PATH: process.env.PATH, HOME: home, JOBWORKER_HOME: home, JOBWORKER_SERVER: `https://127.0.0.1:${port}` };
        done({ child, exited, env, stderr: () => stderr });
      }
    });
    void exited.then((code) => fail(new Error(`serve exited (${code}): ${stderr}`)));
  });
}
