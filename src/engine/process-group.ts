import { readdir, readFile } from "node:fs/promises";
import { constants } from "node:os";
import { until } from "./back-off.js";
import { statFieldsOf } from "./proc-stat.js";

/** The shell's convention for a process killed by a signal: 128 + the signal's number. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Sends a signal to a whole process group; returns whether any process got it. It never
 * throws: ESRCH (the group is already gone) is the goal reached, and EPERM (a member we
 * may not signal, such as a setuid program) leaves nothing more a caller could do.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether any process of the group still runs (zombies excluded: they run no code). */
export async function groupHasLiveMembers(pgid: number): Promise<boolean> {
  // Fast path, and the common case: no process at all is left in the group.
  if (!signalGroup(pgid, 0)) return false;
  // Something is there, perhaps only zombies: orphans whose reaper (init, on some hosts)
  // never collects them. Only /proc tells a live member from a zombie; read off the
  // thread (a host has thousands of processes).
  for (const name of await readdir("/proc")) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${name}/stat`, "latin1");
    } catch {
      continue; // exited while we looked
    }
    // state(3) ppid(4) pgrp(5) …
    const fields = statFieldsOf(stat);
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}

const SETTLE_LIMIT_MS = 2000;

/**
 * Resolves once no process of the group runs any more, or after about two seconds.
 * A SIGKILL sent to processes that are not our children takes effect asynchronously, with
 * no event for it (see `until`).
 */
export function waitForGroupGone(pgid: number): Promise<boolean> {
  return until(async () => !(await groupHasLiveMembers(pgid)), SETTLE_LIMIT_MS);
}
