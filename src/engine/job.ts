import { commandResolves, explainSpawnFailure, type StartFailure } from "./explain-spawn-failure.js";
import { privilegeDropArgv, SETPRIV_ENV } from "./run-as.js";
import type { OutputFiles } from "./output-files.js";
import { OutputNotifier } from "./output-notifier.js";
import { bootId } from "./process-identity.js";
import { exitCodeForSignal, waitForGroupGone } from "./process-group.js";
import type { JobCgroup } from "./cgroups/job-cgroup.js";
import { helperArgv, JOB_NAMESPACES, jobHostname } from "./isolation/host.js";
import type { Writable } from "node:stream";
import type { Launcher } from "./start/launcher.js";
import { startDirect } from "./start/direct-start.js";
import type { JobProcess, ProcessExit, StartStepFailure } from "./start/job-process.js";
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
  /** Forks the job's process instead of this thread (docs/design.md, "The start path"); not for jobs with stdin. */
  launcher?: Launcher;
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
  /** The job's main process, from its start until its end is recorded. */
  private process: JobProcess | undefined;
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
  private readonly launch: JobLaunch;
  /** Set while `startAsync` waits for the launcher. */
  private starting = false;

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

  /**
   * Like `start`, without holding this thread while the launcher makes the process: the
   * server's path (see docs/design.md, "The start path"). Resolves once the job runs, or
   * has its start failure recorded.
   */
  async startAsync(): Promise<void> {
    if (this.status || this.starting) throw new Error(`job ${this.id} was started already`);
    this.starting = true;
    const env = this.launch.env;
    const launcher = this.launch.launcher?.usable && !this.spec.stdin ? this.launch.launcher : undefined;
    if (!launcher) {
      this.status = this.spawnProcess(env);
      return;
    }
    const refusal = this.refusal(env, launcher);
    if (refusal) {
      this.status = this.failedToStart(refusal);
      return;
    }
    let answer: Awaited<ReturnType<Launcher["launchAsync"]>> | undefined;
    try {
      answer = await launcher.launchAsync(this.launchRequest(env));
    } catch {
      answer = undefined;
    }
    // The launcher went away before it answered: this thread starts the job instead.
    if (!answer || ("failure" in answer && answer.failure.step === "launcher")) answer = this.startFromThisThread(env, this.setprivFor());
    this.status = this.adopt(answer);
  }

  private spawnProcess(env: Record<string, string>): JobStatus {
    const launcher = this.launch.launcher?.usable && !this.spec.stdin ? this.launch.launcher : undefined;
    const setpriv = this.setprivFor();
    const refusal = this.refusal(env, launcher || setpriv);
    if (refusal) return this.failedToStart(refusal);
    return this.adopt((launcher && this.startThrough(launcher, env)) || this.startFromThisThread(env, setpriv));
  }

  /** setpriv, when this thread must drop to a user with supplementary groups. */
  private setprivFor(): string | undefined {
    const { runAs, isolation } = this.launch;
    return !isolation && runAs?.groups?.length ? this.launch.setpriv : undefined;
  }

  /**
   * Why the job cannot start, found before anything is made. The launcher (and the
   * isolation helper, and setpriv) report a failed exec only after the job was reported
   * running: the command is looked up first, as execvp will, so that "command not found"
   * stays an error state from the start.
   */
  private refusal(env: Record<string, string>, reportsExecLate: unknown): StartFailure | undefined {
    if (this.launch.setupError !== undefined) return { code: "CGROUP_FAILED", message: this.launch.setupError };
    if ((reportsExecLate || this.launch.isolation) && !commandResolves(this.spec.cmd, this.cwd, env.PATH)) return this.explainFailure(env);
    return undefined;
  }

  /** Takes the started process (watching for its end), or records why it did not start. */
  private adopt(started: { process: JobProcess } | { failure: StartStepFailure }): JobStatus {
    if ("failure" in started) return this.failedToStart(this.explainStepFailure(started.failure));
    this.process = started.process;
    void this.process.exited.then((exit) => this.onExit(exit));
    return { state: "running" };
  }

  /** What the launcher needs to start this job. */
  private launchRequest(env: Record<string, string>): Parameters<Launcher["launch"]>[0] {
    const { cgroup, runAs, isolation } = this.launch;
    return {
      cwd: this.cwd,
      stdoutPath: this.files.path("stdout"),
      stderrPath: this.files.path("stderr"),
      cgroupProcsFiles: cgroup?.procsFiles() ?? [],
      env,
      argv: [this.spec.cmd, ...this.spec.args],
      ...(isolation && { isolation: { network: isolation.network, tmpSizeBytes: isolation.tmpSizeBytes, hostname: jobHostname(this.id) } }),
      ...(runAs && { runAs }),
    };
  }

  /** Through the launcher; undefined when it is gone (the job then starts from this thread). */
  private startThrough(launcher: Launcher, env: Record<string, string>): ReturnType<Launcher["launch"]> | undefined {
    try {
      return launcher.launch(this.launchRequest(env));
    } catch {
      return undefined;
    }
  }

  /** Spawned by this thread: jobs with stdin, and hosts without the launcher. */
  private startFromThisThread(env: Record<string, string>, setpriv: string | undefined): ReturnType<typeof startDirect> {
    const { cmd, args } = this.spec;
    const { cgroup, runAs, isolation } = this.launch;
    // `env -i NAME=VALUE… CMD` would take a CMD containing "=" for one more variable.
    if (setpriv && cmd.includes("=")) return { failure: { step: "setpriv", code: "EINVAL" } };
    const [file, argv, spawnEnv] = isolation
      ? [isolation.helper, [...helperArgv({ id: this.id, ...isolation, ...(runAs && { runAs }) }), "--", cmd, ...args], env]
      : setpriv
        ? [setpriv, privilegeDropArgv(runAs!, env, cmd, args), SETPRIV_ENV]
        : [cmd, args, env];
    return startDirect({
      file,
      argv,
      env: spawnEnv,
      cwd: this.cwd,
      files: this.files,
      stdin: this.spec.stdin === true,
      statusPipe: isolation !== undefined,
      ...(cgroup && { cgroup }),
      // The helper drops privileges itself, inside, after making the namespaces.
      ...(runAs && !setpriv && !isolation && { user: { uid: runAs.uid, gid: runAs.gid } }),
    });
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

  /** A step of the start that failed before the command ran: never the job's own exit code. */
  private explainStepFailure({ step, code }: StartStepFailure): StartFailure {
    switch (step) {
      case "exec":
      case "chdir":
      case "fork":
        return this.explainFailure(this.launch.env, code);
      case "spawn":
        if (code === "ENOSPC") return { code: "STORAGE_FULL", message: "cannot start: the disk is full" };
        return this.explainFailure(this.launch.env, code);
      case "output":
        if (code === "ENOSPC") return { code: "STORAGE_FULL", message: "cannot start: the disk is full" };
        return { code: "START_FAILED", message: `cannot start: its output files could not be opened (${code})` };
      case "cwd-private":
        return { code: "CWD_NOT_FOUND", message: `working directory not found: ${this.cwd} (the job's /tmp and /var/tmp are its own)` };
      case "setpriv":
        return { code: "START_FAILED", message: `cannot start ${this.spec.cmd}: a command name with "=" cannot run as another user` };
      case "cgroup":
        return { code: "CGROUP_FAILED", message: `cannot start: the job could not be placed in its cgroup (${code})` };
      case "launcher":
        return { code: "INTERRUPTED", message: "interrupted: the server's job launcher ended unexpectedly, and the job was killed" };
      default:
        return { code: "ISOLATION_FAILED", message: `cannot start: the job's isolation failed (${step}: ${code})` };
    }
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

  private async onExit({ code, signal, failure }: ProcessExit): Promise<void> {
    // From here on the leader is reaped (and its group SIGKILLed by whoever reaped it):
    // `terminate` must not signal it any more. The job is over only once none of its
    // processes runs: with a cgroup, that includes those that left the group (setsid,
    // double fork).
    this.reaped = true;
    const pgid = this.process!.pid;
    const cgroup = this.launch.cgroup;
    let oomKilled = false;
    if (cgroup) {
      await cgroup.killAll();
      oomKilled = signal === "SIGKILL" && cgroup.oomKilled();
      await cgroup.remove();
    } else {
      await waitForGroupGone(pgid);
    }
    let status: JobStatus = failure
      ? { state: "error", ...errorOf(this.explainStepFailure(failure)) }
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
    this.process = undefined;
    // Persist first: nobody may see an end that a crash could take back.
    this.launch.recordEnd({ ...this.toRecord(), ...status });
    this.status = status;
    this.notifier.end();
    this.markExited();
  }

  /** Output grew: if it passed the cap, stop the job (once per burst of writes). */
  private scheduleLimitCheck(): void {
    if (this.limitCheckPending || !Number.isFinite(this.maxOutputBytes) || !this.process) return;
    this.limitCheckPending = true;
    setImmediate(() => {
      this.limitCheckPending = false;
      const over = this.files.size("stdout") > this.maxOutputBytes || this.files.size("stderr") > this.maxOutputBytes;
      if (over && this.process) void this.terminate(0, "output-limit");
    });
  }

  get isRunning(): boolean {
    return this.status.state === "running";
  }

  get pid(): number | undefined {
    return this.process?.pid;
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
      ...(this.process?.pid !== undefined && { pid: this.process.pid, pidStart: this.process.pidStart, bootId: bootId() }),
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
    const process = this.process;
    if (!process || this.reaped) return this.exited;
    this.stopReason ??= reason;
    this.termination ??= (async () => {
      const cgroup = this.launch.cgroup;
      process.signalGroup(graceMs === 0 ? "SIGKILL" : "SIGTERM");
      // Processes that left the group are in the cgroup: they are told too (the group's
      // members, signalled already, are skipped: a second SIGTERM would run a trap twice).
      if (graceMs > 0) cgroup?.signalAll("SIGTERM", process.pid);
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
        process.signalGroup("SIGKILL");
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
    const stdin = this.process?.stdin;
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

/** A start failure as the fields of an error status. */
function errorOf({ message, code }: StartFailure): Pick<JobStatus, "errorMsg" | "errorCode"> {
  return { errorMsg: message, errorCode: code };
}

