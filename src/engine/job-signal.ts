import { constants } from "node:os";
import { InvalidArgumentError } from "./errors.js";

/** The signals a job may be sent by name (`JobPool.signal`): those of this platform, as `kill -l` lists them. */
export const SIGNAL_NAMES = Object.keys(constants.signals).filter((name) => name.startsWith("SIG")) as NodeJS.Signals[];

/** `name` when it is one of {@link SIGNAL_NAMES}; otherwise `InvalidArgumentError` naming the rule. */
export function checkSignal(name: unknown): NodeJS.Signals {
  if (typeof name === "string" && (SIGNAL_NAMES as string[]).includes(name)) return name as NodeJS.Signals;
  throw new InvalidArgumentError(`signal must be a signal's name such as SIGTERM, SIGINT, SIGHUP, SIGUSR1 or SIGKILL (got ${JSON.stringify(name) ?? String(name)})`);
}
