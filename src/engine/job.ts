import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { explainSpawnFailure } from "./explain-spawn-failure.js";
import { closeQuietly, OutputFiles } from "./output-files.js";
import { OutputNotifier } from "./output-notifier.js";
import { exitCodeForSignal, signalGroup, waitForGroupGone } from "./process-group.js";
import type { ValidJobSpec } from "./job-spec.js";
import type { JobRecord, JobStatus } from "./types.js";

/** What a job needs from its pool to start. */
export interface JobLaunch {
  id: string;
  spec: ValidJobSpec;
  cwd: string;
  env: Record<string, string>;
  files: OutputFiles;
}

/**
 * One job: its record, and while it runs, the supervision of its process group.
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
  readonly createdAt = Date.now();
  private status: JobStatus;
  private endedAt: number | undefined;
  private child: ChildProcess | undefined;
  private finalSizes: { stdout: number; stderr: number } | undefined;
  private readonly exited: Promise<void>;
  private markExited!: () => void;
  private termination: Promise<void> | undefined;
  /** Open output readers, closed when the job is deleted. */
  readonly readers = new Set<Readable>();
  /** Set by `delete`: the job is being removed and is invisible to everything else. */
  deleting: Promise<void> | undefined;

  constructor(launch: JobLaunch) {
    this.id = launch.id;
    this.spec = launch.spec;
    this.cwd = launch.cwd;
    this.files = launch.files;
    this.notifier = new OutputNotifier(launch.files.dir);
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.status = this.start(launch.env);
  }

  private start(env: Record<string, string>): JobStatus {
    const { cmd, args } = this.spec;
    let fds: { stdout: number; stderr: number } | undefined;
    let child: ChildProcess | undefined;
    let errCode: string | undefined;
    try {
      fds = this.files.openForChild();
      child = spawn(cmd, args, {
        cwd: this.cwd,
        env,
        stdio: ["ignore", fds.stdout, fds.stderr],
        detached: true,
      });
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
      this.finish();
      return { state: "error", errorMsg: explainSpawnFailure(cmd, this.cwd, env.PATH, errCode) };
    }
    this.child = child;
    child.once("exit", (code, signal) => void this.onExit(code, signal));
    return { state: "running" };
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    // Strays of the group go now, while the group id is still known to be ours; the job
    // is over only once none of its processes runs.
    const pgid = this.child!.pid!;
    signalGroup(pgid, "SIGKILL");
    await waitForGroupGone(pgid);
    this.status = signal
      ? { state: "completed", exitCode: exitCodeForSignal(signal), signal }
      : { state: "completed", exitCode: code ?? 0 };
    this.child = undefined;
    this.finish();
  }

  private finish(): void {
    this.endedAt = Date.now();
    this.finalSizes = { stdout: this.files.size("stdout"), stderr: this.files.size("stderr") };
    this.notifier.end();
    this.markExited();
  }

  get isRunning(): boolean {
    return this.status.state === "running";
  }

  getStatus(): JobStatus {
    return { ...this.status };
  }

  toRecord(): JobRecord {
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
      ...(this.child?.pid !== undefined && { pid: this.child.pid }),
      ...this.status,
      stdoutBytes: sizes.stdout,
      stderrBytes: sizes.stderr,
    };
  }

  /**
   * Terminates the job's process group: SIGTERM, then SIGKILL after `graceMs` if the main
   * process has not exited. Resolves once it has. Concurrent calls share one termination.
   */
  terminate(graceMs: number): Promise<void> {
    if (!this.child) return this.exited;
    this.termination ??= (async () => {
      const pgid = this.child!.pid!;
      signalGroup(pgid, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<"grace-over">((resolve) => {
        timer = setTimeout(() => resolve("grace-over"), graceMs);
      });
      const outcome = await Promise.race([this.exited, graceOver]);
      clearTimeout(timer);
      // Still running after the grace period: the group is still ours (its leader is not
      // reaped), so SIGKILL cannot hit a reused id.
      if (outcome === "grace-over" && this.child) signalGroup(pgid, "SIGKILL");
      await this.exited;
    })();
    return this.termination;
  }

  /** Resolves when the job has ended (immediately for a job that never started). */
  whenEnded(): Promise<void> {
    return this.exited;
  }
}
