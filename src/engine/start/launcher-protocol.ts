import { constants } from "node:os";
import { errnoName, signalName } from "./errno-name.js";
import type { ProcessExit } from "./job-process.js";

/** The launcher's first line: protocol version 3 (native/PROTOCOL.md). */
export const LAUNCHER_HELLO = "hello jobworker-launcher 3";

/** What confines a job's command (native/confine.c): each field optional. */
export interface Confinement {
  /** No privilege left: capabilities, bounding set, no_new_privs, the seccomp filter. */
  noPrivileges: boolean;
  /** Isolated jobs: the host read-only, /proc masks, a private minimal /dev, cgroupfs hidden, /home and /root masked. */
  readOnlyHost: boolean;
  /** The identity's home: its host path, and where the job sees it. */
  home?: { source: string; target: string };
  /** Host paths made empty in the job (the server's secrets and data). */
  masks: string[];
  /** Host paths left writable. */
  writable: string[];
}

/** What the launcher needs to start one job (see native/PROTOCOL.md). */
export interface LaunchRequest {
  cwd: string;
  stdoutPath: string;
  stderrPath: string;
  /** Where the launcher makes the job's stdin FIFO; none: /dev/null. */
  stdinPath?: string;
  /** The cgroup membership files the child writes itself into before anything of the job's runs. */
  cgroupProcsFiles: string[];
  env: Record<string, string>;
  /** The command and its arguments; looked up on the job's PATH, as execvp does. */
  argv: string[];
  isolation?: { network: "host" | "none"; tmpSizeBytes: number; hostname: string };
  runAs?: { uid: number; gid: number; groups?: number[] };
  confinement?: Confinement;
}

/** One request: a 4-byte little-endian length, then NUL-terminated strings. */
export function frame(fields: string[]): Buffer {
  const body = Buffer.from(fields.join("\0") + "\0");
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32LE(body.length);
  return Buffer.concat([header, body]);
}

function counted(list: string[]): string[] {
  return [String(list.length), ...list];
}

/** The options of a start (KEY=VALUE). */
function options(confinement: Confinement | undefined): string[] {
  if (!confinement) return [];
  const { noPrivileges, readOnlyHost, home, masks, writable } = confinement;
  return [
    `confine=${noPrivileges ? 1 : 0}`,
    `ro-host=${readOnlyHost ? 1 : 0}`,
    ...(home ? [`home=${home.source}`, `home-target=${home.target}`] : []),
    ...(readOnlyHost ? masks.map((path) => `mask=${path}`) : []),
    ...writable.map((path) => `writable=${path}`),
  ];
}

/** The "start" request for `request`, under the launcher's `handle`. */
export function startFrame(handle: string, request: LaunchRequest): Buffer {
  const { isolation, runAs } = request;
  return frame([
    "start",
    handle,
    request.cwd,
    request.stdoutPath,
    request.stderrPath,
    request.stdinPath ?? "",
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
    ...counted(options(request.confinement)),
  ]);
}

/** The "signal" request: `signal` to the process group of the job under `handle`. */
export function signalFrame(handle: string, signal: NodeJS.Signals): Buffer {
  return frame(["signal", handle, String(constants.signals[signal])]);
}

/** "stdin-attached": the engine holds the write end of the job's stdin FIFO. */
export function stdinAttachedFrame(handle: string): Buffer {
  return frame(["stdin-attached", handle]);
}

/** One event line from the launcher. */
export type LauncherEvent =
  | { kind: "started"; handle: string; pid: number; pidStart: string | undefined }
  | { kind: "exit"; handle: string; exit: ProcessExit }
  | { kind: "unknown"; line: string };

const NUMBER = /^\d+$/;

/**
 * Parses "started H PID START" and "exit H CODE|- SIGNO|- STEP|- ERRNO|- [USAGE×5]" (the
 * leader's rusage: user µs, system µs, peak KiB, blocks in, blocks out; absent when
 * nothing was forked); anything else is "unknown".
 */
export function parseEvent(line: string): LauncherEvent {
  const [kind, handle, a, b, c, d, ...rest] = line.split(" ");
  const usage = rest.length === 5 && rest.every((field) => NUMBER.test(field)) ? rest.map(Number) : undefined;
  if ((rest.length > 0 && !(kind === "exit" && usage)) || !handle) return { kind: "unknown", line };
  if (kind === "started" && a && NUMBER.test(a) && b !== undefined && c === undefined) {
    return { kind, handle, pid: Number(a), pidStart: b === "-" ? undefined : b };
  }
  const numberOrDash = (text: string | undefined) => text === "-" || (text !== undefined && NUMBER.test(text));
  if (kind === "exit" && numberOrDash(a) && numberOrDash(b) && c !== undefined && numberOrDash(d)) {
    const exit: ProcessExit = {
      code: a === "-" ? null : Number(a),
      signal: b === "-" ? null : signalName(Number(b)),
      ...(c !== "-" && { failure: { step: c, code: d === "-" ? "UNKNOWN" : errnoName(Number(d)) } }),
      ...(usage && { rusage: { userUs: usage[0]!, systemUs: usage[1]!, maxRssKiB: usage[2]!, blocksIn: usage[3]!, blocksOut: usage[4]! } }),
    };
    return { kind, handle, exit };
  }
  return { kind: "unknown", line };
}
