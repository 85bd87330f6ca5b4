import { constants } from "node:os";

/** The shell's convention for a process killed by a signal: 128 + the signal's number. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Sends a signal to a whole process group; returns whether any process got it. It never
 * throws: ESRCH (the group is already gone) is the goal reached, and EPERM (a member we
 * may not signal, such as a setuid program) leaves nothing more a caller could do.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
