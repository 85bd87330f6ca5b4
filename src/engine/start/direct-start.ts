import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import type { JobCgroup } from "../cgroups/job-cgroup.js";
import { parseHelperFailure } from "../isolation/host.js";
import { closeQuietly, type OutputFiles } from "../output-files.js";
import { processStartTime } from "../process-identity.js";
import { signalGroup } from "../process-group.js";
import type { JobProcess, ProcessExit, StartStepFailure } from "./job-process.js";

/** A job's process spawned by the server's own thread. */
export interface DirectStart {
  file: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  files: OutputFiles;
  /** Give the job a stdin pipe (else /dev/null). */
  stdin: boolean;
  /** The isolation helper reports failures before its command ran on fd 3. */
  statusPipe: boolean;
  cgroup?: JobCgroup;
  /** Switch to this user in the child (spawn's own uid/gid). */
  user?: { uid: number; gid: number };
}

/**
 * Spawns a job's process from the calling thread (the path for jobs with a stdin pipe,
 * and for hosts without the launcher). The child is born inside the job's cgroup: this
 * thread enters it, forks (spawn is synchronous up to the fork and exec) and leaves; see
 * docs/design.md. Returns the process, or the step that failed.
 */
export function startDirect(start: DirectStart): { process: JobProcess } | { failure: StartStepFailure } {
  let fds: { stdout: number; stderr: number } | undefined;
  let child: ChildProcess | undefined;
  try {
    try {
      fds = start.files.openForChild();
    } catch (err) {
      return { failure: { step: "output", code: codeOf(err) } };
    }
    try {
      start.cgroup?.enter();
    } catch (err) {
      // Only the error code: the message holds the server's cgroup paths.
      return { failure: { step: "cgroup", code: codeOf(err) } };
    }
    try {
      child = spawn(start.file, start.argv, {
        cwd: start.cwd,
        env: start.env,
        // fd 3: the isolation helper's report of a failure before the command ran.
        stdio: [start.stdin ? "pipe" : "ignore", fds.stdout, fds.stderr, ...(start.statusPipe ? (["pipe"] as const) : [])],
        detached: true,
        ...start.user,
      });
    } catch (err) {
      return { failure: { step: "spawn", code: codeOf(err) } };
    } finally {
      start.cgroup?.leave();
    }
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
  child.on("error", () => {});
  if (child.pid === undefined) return { failure: { step: "spawn", code: "UNKNOWN" } };
  return { process: new SpawnedProcess(child, start.statusPipe) };
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? "UNKNOWN";
}

class SpawnedProcess implements JobProcess {
  readonly pid: number;
  readonly pidStart: string | undefined;
  readonly exited: Promise<ProcessExit>;
  readonly stdin;
  private reaped = false;

  constructor(child: ChildProcess, statusPipe: boolean) {
    this.pid = child.pid!;
    this.pidStart = processStartTime(this.pid);
    this.stdin = child.stdin;
    // A job that stops reading, or ends, while a writer still sends: EPIPE goes to that
    // writer (see `Job.takeStdin`), never to the process.
    child.stdin?.on("error", () => {});
    const report = statusPipe ? readAll(child.stdio[3] as Readable) : Promise.resolve("");
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        // From here on the leader is reaped: its group id is ours only until the group
        // empties. Its strays go now, while it still is.
        this.reaped = true;
        signalGroup(this.pid, "SIGKILL");
        void report.then((text) => {
          const failure = parseHelperFailure(text);
          resolve({ code, signal, ...(failure && { failure }) });
        });
      });
    });
  }

  signalGroup(signal: NodeJS.Signals): void {
    if (!this.reaped) signalGroup(this.pid, signal);
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
