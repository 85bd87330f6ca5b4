import { constants } from "node:os";
import { errnoName, signalName } from "./errno-name.js";
import type { ProcessExit } from "./job-process.js";

/** What the launcher needs to start one job (see native/jobworker-launcher.c). */
export interface LaunchRequest {
  cwd: string;
  stdoutPath: string;
  stderrPath: string;
  /** The cgroup membership files the child writes itself into before anything of the job's runs. */
  cgroupProcsFiles: string[];
  env: Record<string, string>;
  /** The command and its arguments; looked up on the job's PATH, as execvp does. */
  argv: string[];
  isolation?: { network: "host" | "none"; tmpSizeBytes: number; hostname: string };
  runAs?: { uid: number; gid: number; groups?: number[] };
}

/** One request: a 4-byte little-endian length, then NUL-terminated strings. */
function frame(fields: string[]): Buffer {
  const body = Buffer.from(fields.join("\0") + "\0");
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32LE(body.length);
  return Buffer.concat([header, body]);
}

function counted(list: string[]): string[] {
  return [String(list.length), ...list];
}

/** The "start" request for `request`, under the launcher's `handle` ("start-async": answered on stdout). */
export function startFrame(handle: string, request: LaunchRequest, kind: "start" | "start-async" = "start"): Buffer {
  const { isolation, runAs } = request;
  return frame([
    kind,
    handle,
    request.cwd,
    request.stdoutPath,
    request.stderrPath,
    isolation ? "1" : "0",
    isolation?.network === "none" ? "1" : "0",
    isolation?.hostname ?? "",
    String(isolation?.tmpSizeBytes ?? 0),
    runAs ? String(runAs.uid) : "",
    runAs ? String(runAs.gid) : "",
    (runAs?.groups ?? []).join(","),
    ...counted(request.cgroupProcsFiles),
    ...counted(Object.entries(request.env).map(([name, value]) => `${name}=${value}`)),
    ...counted(request.argv),
  ]);
}

/** The "signal" request: `signal` to the process group of the job under `handle`. */
export function signalFrame(handle: string, signal: NodeJS.Signals): Buffer {
  return frame(["signal", handle, String(constants.signals[signal])]);
}

/** One event line from the launcher. */
export type LauncherEvent =
  | { kind: "started"; handle: string; pid: number; pidStart: string | undefined }
  | { kind: "exit"; handle: string; exit: ProcessExit }
  | { kind: "unknown"; line: string };

/** Parses "started H PID START" and "exit H CODE|- SIGNO|- STEP|- ERRNO|-". */
export function parseEvent(line: string): LauncherEvent {
  const [kind, handle, a, b, c, d] = line.split(" ");
  if (kind === "started" && handle && a) return { kind, handle, pid: Number(a), pidStart: b === "-" ? undefined : b };
  if (kind === "exit" && handle && d !== undefined) {
    const exit: ProcessExit = {
      code: a === "-" ? null : Number(a),
      signal: b === "-" ? null : signalName(Number(b)),
      ...(c !== "-" && { failure: { step: c!, code: errnoName(Number(d)) } }),
    };
    return { kind, handle, exit };
  }
  return { kind: "unknown", line };
}
