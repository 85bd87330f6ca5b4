import { constants } from "node:os";

const NAMES = new Map(Object.entries(constants.errno).map(([name, number]) => [number, name]));
const SIGNALS = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]));

/** The name of an errno number, as Node's errors carry it ("ENOENT"). */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}

/** The name of a signal number, as `ChildProcess`'s "exit" event gives it. */
export function signalName(signo: number): NodeJS.Signals | null {
  return SIGNALS.get(signo) ?? null;
}
