import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, closeSync, constants, openSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { Writable } from "node:stream";
import { signalGroup } from "../process-group.js";
import { processStartTime } from "../process-identity.js";
import type { JobProcess, ProcessExit, StartStepFailure } from "./job-process.js";
import { LAUNCHER_HELLO, parseEvent, signalFrame, startFrame, stdinAttachedFrame, type LaunchRequest } from "./launcher-protocol.js";

/** What a start gives: the job's process, or the step that failed before it ran. */
export type LaunchAnswer = { process: JobProcess } | { failure: StartStepFailure };

/** The launcher program (native/jobworker-launcher.c, built by `npm run build` into dist/native/). */
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

/** How a start or a job ends when the launcher dies under it: never started again (it may have run). */
const LAUNCHER_DIED: StartStepFailure = { step: "launcher", code: "EPIPE" };

/** How long `close` lets the launcher take before it is killed (its own bound is 5 s). */
const CLOSE_LIMIT_MS = 15_000;

/** How long the launcher may take to say hello. */
const HELLO_LIMIT_MS = 10_000;

/**
 * One launcher process (native/jobworker-launcher.c, protocol in native/PROTOCOL.md): it
 * forks every job of the pool, so that the server's thread never does. Nothing here waits
 * on it: requests go to its stdin through Node's own buffered socket, answers and ends
 * come as events on its stdout. A stopped or slow launcher delays starts; it can never
 * hold this thread. Requests travel in order: a signal sent after a start reaches that
 * start's job even before the start was answered.
 */
export class Launcher {
  private readonly processes = new Map<string, LaunchedProcess>();
  /** Starts sent and not answered yet. */
  private readonly answers = new Map<string, { request: LaunchRequest; resolve: (answer: LaunchAnswer) => void }>();
  private nextHandle = 0;
  private pendingText = "";
  private gone = false;
  /** Its exit and the end of its stdout were both seen (settleAfterDeath ran). */
  private settled = false;
  private closing: Promise<void> | undefined;
  /** Told once when the launcher has died (not when it was closed). */
  onDeath: (() => void) | undefined;

  private constructor(private readonly child: ChildProcess) {}

  /** Starts a launcher and waits for its hello; rejects when it cannot start. */
  static async start(program = LAUNCHER_PROGRAM): Promise<Launcher> {
    // Its own session: a Ctrl-C meant for the server must not kill the launcher first. No
    // stderr: none of its processes may hold ours (a test runner, or a supervisor's pipe,
    // waits for every holder of it). Its environment is empty: an init's /proc/1/environ
    // is the launcher's, and the server's may hold secrets.
    const child = spawn(program, [String(process.pid)], { stdio: ["pipe", "pipe", "ignore"], detached: true, env: {} });
    const launcher = new Launcher(child);
    child.stdin!.on("error", () => {}); // EPIPE: the launcher died; its exit event says so
    child.stdout!.setEncoding("latin1");
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the job launcher did not answer")), HELLO_LIMIT_MS);
        const fail = (err: Error) => {
          clearTimeout(timer);
          reject(err);
        };
        child.once("error", fail);
        child.once("exit", (code, signal) => fail(new Error(`the job launcher ended at start (${signal ?? `exit code ${code}`})`)));
        let first = "";
        const onHello = (text: string) => {
          first += text;
          const end = first.indexOf("\n");
          if (end < 0) return;
          child.stdout!.off("data", onHello);
          clearTimeout(timer);
          if (first.slice(0, end) !== LAUNCHER_HELLO) return reject(new Error(`the job launcher said ${JSON.stringify(first.slice(0, end))}, not ${JSON.stringify(LAUNCHER_HELLO)}: rebuild it (npm run build)`));
          launcher.pendingText = first.slice(end + 1);
          resolve();
        };
        child.stdout!.on("data", onHello);
      });
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
    child.removeAllListeners("exit").removeAllListeners("error");
    child.on("error", () => {});
    child.stdout!.on("data", (text: string) => launcher.onText(text));
    child.once("exit", () => launcher.onLauncherExit());
    // "close" comes once its stdout has ended too: every report it wrote has been read.
    child.once("close", () => launcher.settleAfterDeath());
    launcher.updateHold();
    return launcher;
  }

  /** Whether it can take a start (it has not died nor been closed). */
  get usable(): boolean {
    return !this.gone && !this.closing;
  }

  /**
   * Starts a job's process. Resolves with the process, or the step that failed; a launcher
   * that dies after the request was sent answers `launcher` (the job may have run: it is
   * never started twice). Throws `LauncherGoneError` only when nothing was sent.
   */
  launch(request: LaunchRequest): Promise<LaunchAnswer> {
    if (!this.usable) return Promise.reject(new LauncherGoneError());
    const handle = String(++this.nextHandle);
    return new Promise((resolve) => {
      this.answers.set(handle, { request, resolve });
      this.updateHold();
      this.child.stdin!.write(startFrame(handle, request));
    });
  }

  /** Ends the launcher: it kills any job left and exits once its children are reaped. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      if (this.settled) return resolve();
      // A bound, not a wait: the launcher gives up on its children after 5 s itself; this
      // is for a launcher that cannot run at all (stopped, or stuck in the kernel).
      const stuck = setTimeout(() => this.child.kill("SIGKILL"), CLOSE_LIMIT_MS);
      // Its end and its last reports (the ends of the jobs it killed) read.
      this.child.once("close", () => {
        clearTimeout(stuck);
        resolve();
      });
      this.child.ref();
      this.child.stdin!.end();
    });
    return this.closing;
  }

  /** The launcher's pid (tests stop and kill it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private send(frame: Buffer): void {
    if (!this.gone) this.child.stdin!.write(frame);
  }

  private onText(text: string): void {
    const lines = (this.pendingText + text).split("\n");
    this.pendingText = lines.pop()!;
    for (const line of lines) {
      const event = parseEvent(line);
      if (event.kind === "unknown") continue;
      const waiting = this.answers.get(event.handle);
      if (waiting) {
        this.answers.delete(event.handle);
        if (event.kind === "started") {
          const launched = new LaunchedProcess(event.pid, event.pidStart, (signal) => this.send(signalFrame(event.handle, signal)));
          this.processes.set(event.handle, launched);
          if (waiting.request.stdinPath) launched.attachStdin(waiting.request.stdinPath, () => this.send(stdinAttachedFrame(event.handle)));
          waiting.resolve({ process: launched });
        } else {
          if (waiting.request.stdinPath) rmSync(waiting.request.stdinPath, { force: true });
          waiting.resolve({ failure: event.exit.failure ?? { step: "launcher", code: "EPROTO" } });
        }
      } else if (event.kind === "exit") {
        this.settle(event.handle, event.exit);
      }
    }
    this.updateHold();
  }

  private settle(handle: string, exit: ProcessExit): void {
    const launched = this.processes.get(handle);
    if (!launched) return;
    this.processes.delete(handle);
    launched.onExit(exit);
  }

  /** The launcher exited: nothing more is sent to it, and a new one may start at once. */
  private onLauncherExit(): void {
    this.gone = true;
    if (!this.closing) this.onDeath?.();
  }

  /**
   * The launcher died (killed by someone, out of memory) and all it reported has been
   * read: a start it answered or a job end it reported before dying counts as such. Its
   * isolated jobs died with it (their init has PR_SET_PDEATHSIG), plain ones too (the
   * same, set before exec); their groups are killed here as well, if their leaders are
   * still the processes we started. Nothing of its children holds its stdout (it is
   * close-on-exec, and a spare's is /dev/null), so its end follows the launcher's.
   */
  private settleAfterDeath(): void {
    this.settled = true;
    this.pendingText = ""; // a last line it had no time to end is no event (a cut pid is someone else's)
    for (const [handle, waiting] of [...this.answers]) {
      this.answers.delete(handle);
      if (waiting.request.stdinPath) rmSync(waiting.request.stdinPath, { force: true });
      waiting.resolve({ failure: LAUNCHER_DIED });
    }
    for (const [handle, launched] of [...this.processes]) {
      // A reaped leader's pid may be someone else's by now: only the same process is ours.
      const start = processStartTime(launched.pid);
      if (start !== undefined && start === launched.pidStart) signalGroup(launched.pid, "SIGKILL");
      this.settle(handle, { code: null, signal: "SIGKILL", failure: LAUNCHER_DIED });
    }
    this.updateHold();
  }

  /** Like a spawned child, the launcher keeps the process alive only while jobs start or run. */
  private updateHold(): void {
    const stdout = this.child.stdout as (NodeJS.ReadableStream & { ref(): void; unref(): void }) | null;
    const hold = this.answers.size + this.processes.size > 0;
    if (hold) {
      this.child.ref();
      stdout?.ref();
    } else {
      this.child.unref();
      stdout?.unref();
    }
  }
}

/** The launcher is gone, and nothing was sent to it. */
export class LauncherGoneError extends Error {
  constructor() {
    super("the job launcher is not running");
  }
}

/** A job's process started by the launcher. */
class LaunchedProcess implements JobProcess {
  stdin: Writable | null = null;
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

  /**
   * Opens the write end of the job's stdin FIFO (the launcher holds a writer until we say
   * we have ours, so the job never reads a false end of file) and removes its name. The
   * open never waits: the job holds the read end, and O_NONBLOCK returns at once.
   */
  attachStdin(path: string, attached: () => void): void {
    let fd = -1;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      const socket = new Socket({ fd, readable: false, writable: true });
      // A job that stops reading, or ends, while a writer still sends: EPIPE goes to that writer.
      socket.on("error", () => {});
      socket.unref();
      this.stdin = socket;
    } catch {
      if (fd >= 0) closeSync(fd); // the job ended already: it has no stdin to write to
    } finally {
      rmSync(path, { force: true });
      attached();
    }
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
