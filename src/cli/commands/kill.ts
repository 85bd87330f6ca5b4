import { InvalidArgumentError, type Command } from "commander";
import { constants } from "node:os";
import { addClientOptions, CLIENT_ENV_HELP, withClient, type ClientFlags } from "../options/client.js";

/**
 * A signal as kill(1) takes it: a name with or without "SIG", any case ("usr1", "SIGUSR1"),
 * or a number ("10"); given to the server by its name.
 */
export function parseSignal(value: string): string {
  const byNumber = /^[0-9]+$/.test(value) ? Object.entries(constants.signals).find(([, number]) => number === Number(value))?.[0] : undefined;
  const upper = value.toUpperCase();
  const name = byNumber ?? (upper.startsWith("SIG") ? upper : `SIG${upper}`);
  if (!Object.hasOwn(constants.signals, name)) throw new InvalidArgumentError(`not a signal: ${value} (e.g. TERM, INT, HUP, USR1, KILL, or a number)`);
  return name;
}

/** `jobworker kill [-s SIGNAL] ID...`: one signal to each job, no grace period (that is `stop`). */
export function registerKillCommand(program: Command): void {
  const cmd = program
    .command("kill")
    .summary("send a signal to running jobs")
    .description(
      "Send SIGNAL (default SIGTERM, as kill(1)) to each job ID's process group, and to its\n" +
        "processes that left the group. Only that signal: no grace period and no SIGKILL\n" +
        "after it, which is `stop`. A job that has ended is an error (the others are still\n" +
        "signalled).",
    )
    .argument("<id...>", "the jobs' ids (from `start` or `list`)")
    .option("-s, --signal <signal>", "the signal: a name (TERM, SIGUSR1, hup) or a number", parseSignal, "SIGTERM");
  addClientOptions(cmd).addHelpText(
    "after",
    `
Examples:
  jobworker kill 3f0c…                 # SIGTERM
  jobworker kill -s USR1 3f0c… 9a1b…   # ask two jobs to reopen their logs, say
  jobworker kill -s INT 3f0c…          # as Ctrl-C would

Exit codes: 0 every job was signalled, 1 a job had ended or was not found (each is
named on stderr), or another failure, 2 usage.
${CLIENT_ENV_HELP}`,
  );
  cmd.action(async (ids: string[], flags: ClientFlags & { signal: string }) => {
    await withClient(flags, async (client) => {
      // One after another, every one tried: the first failure is reported once all were.
      let failure: unknown;
      for (const id of ids) {
        try {
          await client.signal(id, flags.signal);
        } catch (err) {
          if (ids.length > 1) process.stderr.write(`jobworker: ${id}: ${(err as Error).message}\n`);
          failure ??= err;
        }
      }
      if (failure !== undefined) {
        if (ids.length > 1) process.exitCode = 1;
        else throw failure;
      }
    });
  });
}
