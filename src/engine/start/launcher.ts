import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, closeSync, constants, openSync, readSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { signalGroup } from "../process-group.js";
import type { JobProcess, ProcessExit, StartStepFailure } from "./job-process.js";
import { parseEvent, signalFrame, startFrame, type LaunchRequest, type LauncherEvent } from "./launcher-protocol.js";

/** What a start gives: the job's process, or the step that failed before it ran. */
export type LaunchAnswer = { process: JobProcess } | { failure: StartStepFailure };

/**
 * The launcher program (native/jobworker-launcher.c, built by `npm run build` into
 * dist/native/). Found from the package root, like the isolation helper.
 */
export const LAUNCHER_PROGRAM = fileURLToPath(new URL("../../../dist/native/jobworker-launcher", import.meta.url));

/** Whether the launcher program is there to run. */
export function launcherBuilt(program = LAUNCHER_PROGRAM): boolean {
  try {
    accessSync(program, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** How a job's process ends when the launcher dies under it. */
const LAUNCHER_DIED: ProcessExit = { code: null, signal: "SIGKILL", failure: { step: "launcher", code: "EPIPE" } };

/** How long `close` lets the launcher take before it is killed (its own bound is 5 s). */
const CLOSE_LIMIT_MS = 15_000;

/** The longest answer line: "started HANDLE PID STARTTIME" and the like. */
const MAX_REPLY = 256;

/**
 * Starts jobs through one long-lived launcher process, so that the server's thread never
 * forks (a fork copies its large page tables and blocks it for milliseconds; see
 * docs/design.md, "The start path").
 *
 * A start is a synchronous exchange over two FIFOs: the caller waits for the launcher's
 * fork of itself (a fraction of a millisecond), so that `create` still returns a job whose
 * pid is known, whose output files exist and whose start failures are already recorded,
 * exactly as with a spawn. Ends arrive later, as events on the launcher's stdout.
 * Requests travel in order: a signal sent after a start reaches that start's job.
 */
export class Launcher {
  private readonly processes = new Map<string, LaunchedProcess>();
  /** Asynchronous starts not answered yet. */
  private readonly answers = new Map<string, (answer: LaunchAnswer) => void>();
  private nextHandle = 0;
  private pendingText = "";
  private requestFd = -1;
  private replyFd = -1;
  private closing: Promise<void> | undefined;

  private constructor(private readonly child: ChildProcess) {}

  /**
   * Starts the launcher; its FIFOs are made in `dir` (the pool's private data directory)
   * and removed once both ends are open. Rejects when it cannot start.
   */
  static async start(dir: string, program = LAUNCHER_PROGRAM): Promise<Launcher> {
    const requestPath = join(dir, "launcher.requests");
    const replyPath = join(dir, "launcher.replies");
    // Its own session: a Ctrl-C meant for the server must not kill the launcher first.
    // It writes nothing on stderr: none of its processes holds ours (a test runner, or a
    // supervisor's pipe, waits for every holder of it to end).
    const child = spawn(program, [requestPath, replyPath, String(process.pid)], { stdio: ["ignore", "pipe", "ignore"], detached: true });
    const launcher = new Launcher(child);
    try {
      await new Promise<void>((resolve, reject) => {
        child.once("error", reject);
        child.once("exit", (code, signal) => reject(new Error(`the job launcher ended at start (${signal ?? `exit code ${code}`})`)));
        child.stdout!.setEncoding("latin1");
        let first = "";
        const onReady = (text: string) => {
          first += text;
          if (!first.includes("\n")) return;
          child.stdout!.off("data", onReady);
          if (!first.startsWith("ready\n")) return reject(new Error(`the job launcher said ${JSON.stringify(first)}`));
          launcher.pendingText = first.slice("ready\n".length);
          resolve();
        };
        child.stdout!.on("data", onReady);
      });
      // The launcher holds its ends open already (a reader of the one, a writer of the
      // other), so neither open waits.
      launcher.requestFd = openSync(requestPath, "w");
      launcher.replyFd = openSync(replyPath, "r");
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    } finally {
      rmSync(requestPath, { force: true });
      rmSync(replyPath, { force: true });
    }
    child.removeAllListeners("exit").removeAllListeners("error");
    child.on("error", () => {});
    child.stdout!.on("data", (text: string) => launcher.onText(text));
    child.once("exit", () => launcher.onLauncherExit());
    launcher.holdEventLoop(false);
    return launcher;
  }

  /** Whether it can take a start (it has not died nor been closed). */
  get usable(): boolean {
    return this.requestFd >= 0 && !this.closing;
  }

  /**
   * Starts a job's process and returns it, or the step that failed. Throws when the
   * launcher itself is gone (the caller then starts the job another way).
   */
  launch(request: LaunchRequest): LaunchAnswer {
    const handle = String(++this.nextHandle);
    this.send(startFrame(handle, request));
    const answer = this.answerOf(handle, parseEvent(this.readReply()));
    if (!answer) throw new Error("unexpected answer from the job launcher");
    return answer;
  }

  /**
   * The same as `launch`, without waiting: the answer comes with the launcher's events,
   * while this thread serves others (the server's path). Rejects when the launcher is gone.
   */
  launchAsync(request: LaunchRequest): Promise<LaunchAnswer> {
    const handle = String(++this.nextHandle);
    return new Promise((resolve, reject) => {
      try {
        this.send(startFrame(handle, request, "start-async"));
      } catch (err) {
        return reject(err as Error);
      }
      this.answers.set(handle, resolve);
      if (this.answers.size + this.processes.size === 1) this.holdEventLoop(true);
    });
  }

  /** A start's answer: its process (now watched for its end), or the step that failed. */
  private answerOf(handle: string, event: LauncherEvent): LaunchAnswer | undefined {
    if (event.kind === "unknown" || event.handle !== handle) return undefined;
    if (event.kind === "exit" && event.exit.failure) return { failure: event.exit.failure };
    if (event.kind !== "started") return undefined;
    const launched = new LaunchedProcess(event.pid, event.pidStart, (signal) => this.signal(handle, signal));
    this.processes.set(handle, launched);
    if (this.processes.size + this.answers.size === 1) this.holdEventLoop(true);
    return { process: launched };
  }

  /**
   * Ends the launcher (after the pool stopped its jobs): it kills any job left and exits
   * once its children are reaped, so that nothing of the pool runs when this resolves.
   */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      // A bound, not a wait: the launcher gives up on its children after 5 s itself; this
      // is for a launcher that cannot run at all (stopped, or stuck in the kernel).
      const stuck = setTimeout(() => this.child.kill("SIGKILL"), CLOSE_LIMIT_MS);
      this.child.once("exit", () => {
        clearTimeout(stuck);
        resolve();
      });
      this.child.ref();
      this.closeFifos();
    });
    return this.closing;
  }

  private signal(handle: string, signal: NodeJS.Signals): void {
    try {
      this.send(signalFrame(handle, signal));
    } catch {
      // The launcher is gone: it killed the job's group on its way out (see onLauncherExit).
    }
  }

  private send(frame: Buffer): void {
    if (this.requestFd < 0) throw new Error("the job launcher is not running");
    let sent = 0;
    while (sent < frame.length) sent += writeSync(this.requestFd, frame, sent);
  }

  private readReply(): string {
    const buffer = Buffer.alloc(MAX_REPLY);
    let length = 0;
    while (!buffer.subarray(0, length).includes(10)) {
      if (length === MAX_REPLY) throw new Error("the job launcher's answer is too long");
      const n = readSync(this.replyFd, buffer, length, MAX_REPLY - length, null);
      if (n === 0) throw new Error("the job launcher ended");
      length += n;
    }
    return buffer.toString("latin1", 0, length - 1);
  }

  private onText(text: string): void {
    const lines = (this.pendingText + text).split("\n");
    this.pendingText = lines.pop()!;
    for (const line of lines) {
      const event = parseEvent(line);
      if (event.kind === "unknown") continue;
      const answer = this.answers.get(event.handle);
      if (answer) {
        this.answers.delete(event.handle);
        answer(this.answerOf(event.handle, event) ?? { failure: { step: "launcher", code: "EPROTO" } });
        if (this.answers.size + this.processes.size === 0) this.holdEventLoop(false);
      } else if (event.kind === "exit") this.settle(event.handle, event.exit);
    }
  }

  private settle(handle: string, exit: ProcessExit): void {
    const launched = this.processes.get(handle);
    if (!launched) return;
    this.processes.delete(handle);
    if (this.processes.size + this.answers.size === 0) this.holdEventLoop(false);
    launched.onExit(exit);
  }

  /**
   * The launcher died (killed by someone, out of memory): its isolated jobs died with it
   * (their init has PR_SET_PDEATHSIG); the others are killed here, and every one ends.
   */
  private onLauncherExit(): void {
    this.closeFifos();
    for (const [handle, answer] of [...this.answers]) {
      this.answers.delete(handle);
      answer({ failure: { step: "launcher", code: "EPIPE" } });
    }
    for (const [handle, launched] of [...this.processes]) {
      signalGroup(launched.pid, "SIGKILL");
      this.settle(handle, LAUNCHER_DIED);
    }
  }

  private closeFifos(): void {
    for (const fd of [this.requestFd, this.replyFd]) if (fd >= 0) closeSync(fd);
    this.requestFd = this.replyFd = -1;
  }

  /** Like a spawned child, the launcher keeps the process alive only while jobs run. */
  private holdEventLoop(hold: boolean): void {
    const stdout = this.child.stdout as (NodeJS.ReadableStream & { ref(): void; unref(): void }) | null;
    if (hold) {
      this.child.ref();
      stdout?.ref();
    } else {
      this.child.unref();
      stdout?.unref();
    }
  }
}

/** A job's process started by the launcher. */
class LaunchedProcess implements JobProcess {
  readonly stdin = null;
  readonly exited: Promise<ProcessExit>;
  private markExited!: (exit: ProcessExit) => void;
  private ended = false;

  constructor(
    readonly pid: number,
    readonly pidStart: string | undefined,
    private readonly sendSignal: (signal: NodeJS.Signals) => void,
  ) {
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  onExit(exit: ProcessExit): void {
    this.ended = true;
    this.markExited(exit);
  }

  signalGroup(signal: NodeJS.Signals): void {
    // The launcher signals only an unreaped leader's group; after its end, nothing to do.
    if (!this.ended) this.sendSignal(signal);
  }
}
