import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

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
export function explainSpawnFailure(cmd: string, cwd: string, path: string | undefined, errCode?: string): string {
  const dir = statOrNull(cwd);
  if (!dir) return `working directory not found: ${cwd}`;
  if (!dir.isDirectory()) return `working directory is not a directory: ${cwd}`;
  if (cmd.includes("/")) {
    const verdict = isExecutableFile(resolve(cwd, cmd));
    if (verdict === "missing") return `command not found: ${cmd}`;
    if (verdict === "denied") return `permission denied: ${cmd}`;
  } else {
    let denied = false;
    for (const entry of (path ?? "").split(delimiter)) {
      const verdict = isExecutableFile(join(resolve(cwd, entry || "."), cmd));
      if (verdict === "yes") return explainErrno(cmd, errCode);
      if (verdict === "denied") denied = true;
    }
    return denied ? `permission denied: ${cmd}` : `command not found: ${cmd}`;
  }
  return explainErrno(cmd, errCode);
}

function explainErrno(cmd: string, errCode: string | undefined): string {
  switch (errCode) {
    case "EAGAIN":
      return `cannot start ${cmd}: too many processes (EAGAIN)`;
    case "EMFILE":
    case "ENFILE":
      return `cannot start ${cmd}: too many open files (${errCode})`;
    case "ENOEXEC":
      return `cannot execute ${cmd}: not an executable format`;
    case "E2BIG":
      return `cannot start ${cmd}: argument list too long`;
    case "ENOMEM":
      return `cannot start ${cmd}: out of memory`;
    default:
      return `cannot start ${cmd}${errCode ? ` (${errCode})` : ""}`;
  }
}
