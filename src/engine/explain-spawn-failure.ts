import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import type { JobErrorCode } from "../protocol/error-codes.js";

/** Why a job could not start: a sentence for people, a code for programs. */
export interface StartFailure {
  message: string;
  code: JobErrorCode;
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function isExecutableFile(path: string): "yes" | "missing" | "denied" {
  const st = statOrNull(path);
  if (!st) return "missing";
  if (st.isDirectory()) return "denied";
  try {
    accessSync(path, constants.X_OK);
    return "yes";
  } catch {
    return "denied";
  }
}

/** Whether execvp would find an executable `cmd` (the cwd exists, the path or a PATH entry is executable). */
export function commandResolves(cmd: string, cwd: string, path: string | undefined): boolean {
  if (!statOrNull(cwd)?.isDirectory()) return false;
  if (cmd.includes("/")) return isExecutableFile(resolve(cwd, cmd)) === "yes";
  return (path ?? "").split(delimiter).some((entry) => isExecutableFile(join(resolve(cwd, entry || "."), cmd)) === "yes");
}

/**
 * Explains why `spawn` failed, in words a person understands. Node reports ENOENT and
 * EACCES only asynchronously (and says "ENOENT" for a missing working directory too), but
 * `create` must give the job its final status at once, so we look at the file system the
 * way execvp would: the cwd, then the path or each PATH entry.
 */
export function explainSpawnFailure(cmd: string, cwd: string, path: string | undefined, errCode?: string): StartFailure {
  const dir = statOrNull(cwd);
  if (!dir) return { code: "CWD_NOT_FOUND", message: `working directory not found: ${cwd}` };
  if (!dir.isDirectory()) return { code: "CWD_NOT_A_DIRECTORY", message: `working directory is not a directory: ${cwd}` };
  const notFound: StartFailure = { code: "COMMAND_NOT_FOUND", message: `command not found: ${cmd}` };
  const denied: StartFailure = { code: "PERMISSION_DENIED", message: `permission denied: ${cmd}` };
  if (cmd.includes("/")) {
    const verdict = isExecutableFile(resolve(cwd, cmd));
    if (verdict === "missing") return notFound;
    if (verdict === "denied") return denied;
  } else {
    let sawDenied = false;
    for (const entry of (path ?? "").split(delimiter)) {
      const verdict = isExecutableFile(join(resolve(cwd, entry || "."), cmd));
      if (verdict === "yes") return explainErrno(cmd, errCode);
      if (verdict === "denied") sawDenied = true;
    }
    return sawDenied ? denied : notFound;
  }
  return explainErrno(cmd, errCode);
}

function explainErrno(cmd: string, errCode: string | undefined): StartFailure {
  switch (errCode) {
    case "EAGAIN":
      return { code: "RESOURCES_EXHAUSTED", message: `cannot start ${cmd}: too many processes (EAGAIN)` };
    case "EMFILE":
    case "ENFILE":
      return { code: "RESOURCES_EXHAUSTED", message: `cannot start ${cmd}: too many open files (${errCode})` };
    case "EACCES":
    case "EPERM":
      // Found and executable to the server, not to the job's user.
      return { code: "PERMISSION_DENIED", message: `permission denied: ${cmd}` };
    case "ENOEXEC":
      return { code: "NOT_EXECUTABLE", message: `cannot execute ${cmd}: not an executable format` };
    case "E2BIG":
      return { code: "RESOURCES_EXHAUSTED", message: `cannot start ${cmd}: argument list too long` };
    case "ENOMEM":
      return { code: "RESOURCES_EXHAUSTED", message: `cannot start ${cmd}: out of memory` };
    default:
      return { code: "START_FAILED", message: `cannot start ${cmd}${errCode ? ` (${errCode})` : ""}` };
  }
}

/**
 * Whether anyone may learn that `path` exists: every directory above it can be searched
 * by others (o+x). The server explains start failures with its own (root) eyes; for a job
 * of another uid that is honest only about such paths (a 0700 directory's contents are
 * its owner's secret).
 */
export function visibleToAnyone(path: string): boolean {
  let dir = resolve(path, "..");
  for (;;) {
    const st = statOrNull(dir);
    if (!st || (st.mode & 0o001) === 0) return false;
    const parent = resolve(dir, "..");
    if (parent === dir) return true;
    dir = parent;
  }
}
