import type { Command } from "commander";
import type { JobSpec } from "../../client/index.js";
import { addLimitOptions, apiLimitsOf, type LimitFlags } from "./limits.js";
import { collectEnv, collectLabels } from "./repeatable.js";
import { parseNetwork, type NetworkMode } from "./network.js";
import { parseDuration } from "./duration.js";

/** Options of `start` and `run` that shape the job, besides its command line. */
export interface JobSpecFlags extends LimitFlags {
  env?: Record<string, string>;
  label?: Record<string, string>;
  cwd?: string;
  network?: NetworkMode;
  timeout?: number;
  stdin?: boolean;
}

/**
 * Declares `CMD [ARGS...]` on `start`/`run`. Everything from CMD on belongs to the job,
 * even words that look like our options (`run ls --json` passes --json to ls): that is
 * commander's passThroughOptions, which needs positional options on the program, so
 * program-level options are read only before the command name (`jobworker -V`).
 */
export function addJobArguments(cmd: Command): Command {
  cmd.parent?.enablePositionalOptions();
  cmd
    .argument("<cmd>", "the program to run (PATH lookup on the server; no shell)")
    .argument("[args...]", "its arguments, passed verbatim (put -- before CMD to be explicit)")
    .option("-e, --env <NAME=VALUE>", "set an environment variable for the job (repeatable)", collectEnv)
    .option("-C, --cwd <dir>", "working directory of the job on the server")
    .option("--label <KEY=VALUE>", "label the job, to find it by (list --label); repeatable", collectLabels)
    .option("--network <mode>", '"none": the job gets only loopback, in a network namespace of its own (default: the host\'s network)', parseNetwork)
    .option("-i, --stdin", "forward this command's stdin to the job's stdin (the job otherwise reads /dev/null)")
    .option("--timeout <duration>", "stop the job once it has run this long, e.g. 30s, 5m, 1h (SIGTERM, then SIGKILL after the grace period)", parseDuration);
  return addLimitOptions(cmd, "").passThroughOptions();
}

/** The `PUT /jobs` body for a command line and its options. */
export function jobSpecOf(command: string, args: string[], flags: JobSpecFlags): JobSpec {
  const spec: JobSpec = { cmd: command, args };
  if (flags.env) spec.env = flags.env;
  if (flags.label) spec.labels = flags.label;
  if (flags.cwd !== undefined) spec.cwd = flags.cwd;
  if (flags.network !== undefined) spec.network = flags.network;
  if (flags.timeout !== undefined) spec.timeout_ms = flags.timeout;
  if (flags.stdin) spec.stdin = true;
  const limits = apiLimitsOf(flags);
  if (limits) spec.limits = limits;
  return spec;
}
