import { spawn, type ChildProcess } from "node:child_process";
import { commandResolves, explainSpawnFailure, type StartFailure } from "./explain-spawn-failure.js";
import { privilegeDropArgv, SETPRIV_ENV } from "./run-as.js";
import { closeQuietly, OutputFiles } from "./output-files.js";
import { OutputNotifier } from "./output-notifier.js";
import { bootId, processStartTime } from "./process-identity.js";
import { exitCodeForSignal, signalGroup, waitForGroupGone } from "./process-group.js";
import type { JobCgroup } from "./cgroups/job-cgroup.js";
import { helperArgv, JOB_NAMESPACES, parseHelperFailure } from "./isolation/host.js";
import type { Readable, Writable } from "node:stream";
import type { StoredJob } from "./job-store.js";
import type { ValidJobSpec } from "./job-spec.js";
import type { JobIsolation, JobLimits, JobRecord, JobStatus, RunAsUser } from "./types.js";
import type { JobErrorCode } from "../protocol/error-codes.js";

/** What a job needs from its pool. */
export interface JobLaunch {
  id: string;
  spec: ValidJobSpec;
  cwd: string;
  env: Record<string, string>;
  files: OutputFiles;
  /** Per-stream output cap in bytes (Infinity for none). */
  maxOutputBytes: number;
  /** Called with the final record before anyone can see the job ended (the pool persists it). */
  recordEnd: (record: JobRecord) => void;
  /** Whether the data directory's disk is (nearly) full: output may then have been cut short. */
  diskFull: () => boolean;
  /** The limits that apply (already written into `cgroup`). */
  limits: JobLimits;
  /** The job's own cgroup, where the host has them. */
  cgroup?: JobCgroup;
  /** Set when the job cannot start for a reason found before spawning (its cgroup could not be made). */
  setupError?: string;
  /** Run the job as this user instead of the server's. */
  runAs?: RunAsUser;
  /** `setpriv`, when the run-as user has supplementary groups and it is installed. */
  setpriv?: string;
  /** When the pool will stop the job for its timeout (ms since the epoch), if it has one. */
  deadlineAt?: number;
  /** Run in namespaces of its own, through the init helper (see docs/design.md, "Isolation"). */
  isolation?: { network: "host" | "none"; tmpSizeBytes: number; helper: string };
}

/** Why the job was asked to stop, when it was not its owner's request. */
export type StopReason = "output-limit" | "shutdown" | "timeout";

/** The stop reasons that turn the job into an error (a timeout does not: see `onExit`). */
type ErrorStopReason = Exclude<StopReason, "timeout">;
const REASON_MESSAGES: Record<ErrorStopReason, (job: Job) => string> = {
  "output-limit": (job) => `output limit reached: the job wrote more than ${job.maxOutputBytes} bytes and was stopped`,
  shutdown: () => "stopped: the worker shut down while the job was running",
};
const REASON_CODES = { "output-limit": "OUTPUT_LIMIT", shutdown: "SHUTDOWN" } as const satisfies Record<ErrorStopReason, JobErrorCode>;

/**
 * One running (or just failed) job: its record, and the supervision of its process group.
 *
 * The main process is spawned `detached` so that it leads a process group of its own;
 * every signal goes to the whole group. When the main process exits, whatever it left
 * behind in its group is killed at once: a job is over when its main process is, and it
 * must not leave strays on the host.
 */
export class Job {
  readonly id: string;
  readonly spec: ValidJobSpec;
  readonly cwd: string;
  readonly files: OutputFiles;
  readonly notifier: OutputNotifier;
  readonly maxOutputBytes: number;
  readonly limits: JobLimits;
  readonly createdAt = Date.now();
  /** Set by `start`, which the pool calls right after construction. */
  private status!: JobStatus;
  private endedAt: number | undefined;
  private truncated = false;
  private child: ChildProcess | undefined;
  private pidStart: string | undefined;
  private finalSizes: { stdout: number; stderr: number } | undefined;
  private readonly exited: Promise<void>;
  private markExited!: () => void;
  private termination: Promise<void> | undefined;
  private stopReason: StopReason | undefined;
  /** Set the moment the main process is reaped (see `onExit`). */
  private reaped = false;
  private limitCheckPending = false;
  private stdinTaken = false;
  /** The namespaces the job runs in, as its record shows them (fixed at launch). */
  private readonly isolation: JobIsolation | undefined;
  /** With isolation: everything the helper wrote on fd 3 (empty when the command ran). */
  private helperReport: Promise<string> | undefined;
  private readonly launch: JobLaunch;

  constructor(launch: JobLaunch) {
    this.launch = launch;
    this.id = launch.id;
    this.spec = launch.spec;
    this.cwd = launch.cwd;
    this.files = launch.files;
    this.maxOutputBytes = launch.maxOutputBytes;
    this.limits = launch.limits;
    this.notifier = new OutputNotifier(() => this.scheduleLimitCheck());
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    const network = launch.isolation?.network;
    this.isolation = network && { namespaces: [...JOB_NAMESPACES, ...(network === "none" ? ["net"] : [])], network };
  }

  /**
   * Starts the job's process (or records why it could not start). Separate from the
   * constructor so that making a Job has no side effect: the pool calls it once, at once.
   */
  start(): void {
    if (this.status) throw new Error(`job ${this.id} was started already`);
    this.status = this.spawnProcess(this.launch.env);
  }

  private spawnProcess(env: Record<string, string>): JobStatus {
    const { cmd, args } = this.spec;
    const { cgroup, runAs } = this.launch;
    if (this.launch.setupError !== undefined) return this.failedToStart({ code: "CGROUP_FAILED", message: this.launch.setupError });
    const isolation = this.launch.isolation;
    // The helper's failure to exec would only be known after the job was reported
    // running, as would setpriv's (an exit code 127): the command is looked up first, as
    // execvp will, so that "command not found" stays an error state.
    const setpriv = !isolation && runAs?.groups?.length ? this.launch.setpriv : undefined;
    if ((setpriv || isolation) && !commandResolves(cmd, this.cwd, env.PATH)) return this.failedToStart(this.explainFailure(env));
    // `env -i NAME=VALUE… CMD` would take a CMD containing "=" for one more variable.
    if (setpriv && cmd.includes("=")) return this.failedToStart({ code: "START_FAILED", message: `cannot start ${cmd}: a command name with "=" cannot run as another user` });
    const [file, argv, spawnEnv] = isolation
      ? [isolation.helper, [...helperArgv({ id: this.id, ...isolation, ...(runAs && { runAs }) }), "--", cmd, ...args], env]
      : setpriv
        ? [setpriv, privilegeDropArgv(runAs!, env, cmd, args), SETPRIV_ENV]
        : [cmd, args, env];
    let fds: { stdout: number; stderr: number } | undefined;
    let child: ChildProcess | undefined;
    let errCode: string | undefined;
    let cgroupError: string | undefined;
    try {
      fds = this.files.openForChild();
      // The child is born inside the job's cgroup: this thread enters it, forks (spawn is
      // synchronous up to the fork and exec) and leaves. See docs/design.md.
      try {
        cgroup?.enter();
      } catch (err) {
        // Only the error code: the message holds the server's cgroup paths.
        cgroupError = (err as NodeJS.ErrnoException).code ?? "failed";
      }
      if (cgroupError === undefined) {
        try {
          child = spawn(file, argv, {
            cwd: this.cwd,
            env: spawnEnv,
            // fd 3: the isolation helper's report of a failure before the command ran.
            stdio: [this.spec.stdin ? "pipe" : "ignore", fds.stdout, fds.stderr, ...(isolation ? (["pipe"] as const) : [])],
            detached: true,
            // The helper drops privileges itself, inside, after making the namespaces.
            ...(runAs && !setpriv && !isolation && { uid: runAs.uid, gid: runAs.gid }),
          });
        } finally {
          cgroup?.leave();
        }
      }
    } catch (err) {
      errCode = (err as NodeJS.ErrnoException).code;
    } finally {
      // The child has its own copies of the descriptors; ours would only leak.
      if (fds) {
        closeQuietly(fds.stdout);
        closeQuietly(fds.stderr);
      }
    }
    // Spawn errors such as ENOENT arrive as an 'error' event on the next tick, but a
    // missing pid tells us at once that nothing runs; the listener keeps the event from
    // being thrown.
    child?.on("error", () => {});
    if (!child || child.pid === undefined) {
      const failure: StartFailure =
        cgroupError !== undefined
          ? { code: "CGROUP_FAILED", message: `cannot start: the job could not be placed in its cgroup (${cgroupError})` }
          : errCode === "ENOSPC"
            ? { code: "STORAGE_FULL", message: "cannot start: the disk is full" }
            : this.explainFailure(env, errCode);
      return this.failedToStart(failure);
    }
    this.child = child;
    // A job that stops reading, or ends, while a writer still sends: EPIPE goes to that
    // writer (see `takeStdin`), never to the process.
    child.stdin?.on("error", () => {});
    if (isolation) this.helperReport = readAll(child.stdio[3] as Readable);
    this.pidStart = processStartTime(child.pid);
    child.once("exit", (code, signal) => void this.onExit(code, signal));
    return { state: "running" };
  }

  /**
   * Why the job could not start. The server looks with its own (root) eyes; under
   * `runAs` that would tell a client about paths the job's user cannot see, so the answer
   * is then the same whichever way the command or directory was out of reach.
   */
  private explainFailure(env: Record<string, string>, errCode?: string): StartFailure {
    const failure = explainSpawnFailure(this.spec.cmd, this.cwd, env.PATH, errCode);
    if (!this.launch.runAs) return failure;
    if (failure.code === "COMMAND_NOT_FOUND" || failure.code === "PERMISSION_DENIED") {
      return { code: "COMMAND_NOT_FOUND", message: `command not found or not executable: ${this.spec.cmd}` };
    }
    if (failure.code === "CWD_NOT_FOUND" || failure.code === "CWD_NOT_A_DIRECTORY") {
      return { code: "CWD_NOT_FOUND", message: `working directory not usable: ${this.cwd}` };
    }
    return failure;
  }

  /** A failure of the isolation helper, or of the exec it made: never the job's own exit code. */
  private explainHelperFailure({ step, code }: { step: string; code: string }): StartFailure {
    if (step === "exec") return this.explainFailure(this.launch.env, code);
    return { code: "ISOLATION_FAILED", message: `cannot start: the job's isolation failed (${step}: ${code})` };
  }

  /** The job never ran: its end is now. */
  private failedToStart(failure: StartFailure): JobStatus {
    this.endedAt = Date.now();
    this.finalSizes = { stdout: 0, stderr: 0 };
    this.notifier.end();
    this.markExited();
    void this.launch.cgroup?.remove();
    return { state: "error", ...errorOf(failure) };
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    // From here on the leader is reaped: its group id is ours only until the group
    // empties, so `terminate` must not signal it any more (this path kills what is left).
    this.reaped = true;
    // Strays of the group go now, while the group id is still known to be ours; the job
    // is over only once none of its processes runs. With a cgroup, that includes the
    // processes that left the group (setsid, double fork).
    const pgid = this.child!.pid!;
    const cgroup = this.launch.cgroup;
    signalGroup(pgid, "SIGKILL");
    let oomKilled = false;
    if (cgroup) {
      await cgroup.killAll();
      oomKilled = signal === "SIGKILL" && cgroup.oomKilled();
      await cgroup.remove();
    } else {
      await waitForGroupGone(pgid);
    }
    const helperFailure = this.helperReport && parseHelperFailure(await this.helperReport);
    let status: JobStatus = helperFailure
      ? { state: "error", ...errorOf(this.explainHelperFailure(helperFailure)) }
      : signal
        ? { state: "completed", exitCode: exitCodeForSignal(signal), signal, ...(oomKilled && { oomKilled: true as const }) }
        : { state: "completed", exitCode: code ?? 0 };
    // A timed-out job ends as its command did (a trap may choose its exit code), marked.
    if (this.stopReason === "timeout") status = { ...status, timedOut: true };
    else if (this.stopReason) status = { state: "error", errorMsg: REASON_MESSAGES[this.stopReason](this), errorCode: REASON_CODES[this.stopReason] };
    if (this.stopReason === "output-limit") {
      this.files.truncateTo(this.maxOutputBytes);
      this.truncated = true;
    }
    if (this.launch.diskFull()) this.truncated = true;
    this.endedAt = Date.now();
    this.finalSizes = { stdout: this.files.size("stdout"), stderr: this.files.size("stderr") };
    this.child = undefined;
    // Persist first: nobody may see an end that a crash could take back.
    this.launch.recordEnd({ ...this.toRecord(), ...status });
    this.status = status;
    this.notifier.end();
    this.markExited();
  }

  /** Output grew: if it passed the cap, stop the job (once per burst of writes). */
  private scheduleLimitCheck(): void {
    if (this.limitCheckPending || !Number.isFinite(this.maxOutputBytes) || !this.child) return;
    this.limitCheckPending = true;
    setImmediate(() => {
      this.limitCheckPending = false;
      const over = this.files.size("stdout") > this.maxOutputBytes || this.files.size("stderr") > this.maxOutputBytes;
      if (over && this.child) void this.terminate(0, "output-limit");
    });
  }

  get isRunning(): boolean {
    return this.status.state === "running";
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  getStatus(): JobStatus {
    return { ...this.status };
  }

  toRecord(): StoredJob {
    const sizes = this.finalSizes ?? { stdout: this.files.size("stdout"), stderr: this.files.size("stderr") };
    return {
      id: this.id,
      owner: this.spec.owner,
      cmd: this.spec.cmd,
      args: [...this.spec.args],
      cwd: this.cwd,
      envNames: Object.keys(this.spec.env),
      createdAt: this.createdAt,
      ...(this.endedAt !== undefined && { endedAt: this.endedAt }),
      ...(this.child?.pid !== undefined && { pid: this.child.pid, pidStart: this.pidStart, bootId: bootId() }),
      ...this.status,
      stdoutBytes: Math.min(sizes.stdout, this.maxOutputBytes),
      stderrBytes: Math.min(sizes.stderr, this.maxOutputBytes),
      ...(this.truncated && { truncated: true }),
      ...(Object.keys(this.limits).length > 0 && { limits: { ...this.limits } }),
      ...(this.launch.deadlineAt !== undefined && { deadlineAt: this.launch.deadlineAt }),
      ...(this.isolation && { isolation: this.isolation }),
    };
  }

  /**
   * Terminates the job's process group: SIGTERM, then SIGKILL after `graceMs` if the main
   * process has not exited. Resolves once it has. Concurrent calls share one termination;
   * the first reason given is the one recorded.
   */
  terminate(graceMs: number, reason?: StopReason): Promise<void> {
    if (!this.child || this.reaped) return this.exited;
    this.stopReason ??= reason;
    this.termination ??= (async () => {
      const pgid = this.child!.pid!;
      const cgroup = this.launch.cgroup;
      signalGroup(pgid, graceMs === 0 ? "SIGKILL" : "SIGTERM");
      // Processes that left the group are in the cgroup: they are told too.
      if (graceMs > 0) cgroup?.signalAll("SIGTERM", pgid);
      else void cgroup?.killAll();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<"grace-over">((resolve) => {
        timer = setTimeout(() => resolve("grace-over"), graceMs);
      });
      const outcome = await Promise.race([this.exited, graceOver]);
      clearTimeout(timer);
      // Still running after the grace period, its leader not reaped: the group id is still
      // ours, so SIGKILL cannot hit a reused one.
      if (outcome === "grace-over" && !this.reaped) {
        signalGroup(pgid, "SIGKILL");
        void cgroup?.killAll();
      }
      await this.exited;
    })();
    return this.termination;
  }

  /**
   * The write end of the job's stdin pipe, for its one writer; undefined when the job
   * has none (started without `stdin`, ended, or already written). Ending it closes the
   * job's stdin (EOF).
   */
  takeStdin(): Writable | undefined {
    const stdin = this.child?.stdin;
    if (!stdin || this.stdinTaken || this.reaped || stdin.destroyed || stdin.writableEnded) return undefined;
    this.stdinTaken = true;
    return stdin;
  }

  /** Why `takeStdin` gives nothing, in the words of a 409. */
  stdinRefusal(): string {
    if (!this.spec.stdin) return "the job was started without stdin (\"stdin\": true)";
    if (!this.isRunning || this.reaped) return "the job has ended";
    return "the job's stdin is taken: one writer at a time, and its end closes the stdin";
  }

  /** Resolves when the job has ended (immediately for a job that never started). */
  whenEnded(): Promise<void> {
    return this.exited;
  }
}

/** Everything a stream gives, as text, once it ends (or fails). */
function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (text += chunk));
    stream.once("error", () => resolve(text));
    stream.once("close", () => resolve(text));
  });
}

/** A start failure as the fields of an error status. */
function errorOf({ message, code }: StartFailure): Pick<JobStatus, "errorMsg" | "errorCode"> {
  return { errorMsg: message, errorCode: code };
}
