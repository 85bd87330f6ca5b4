import type { Command } from "commander";
import { DEFAULT_PARALLEL, fanOutUsage, resolveTargets, type Target } from "../fan-out/targets.js";
import type { ClientFlags } from "./client.js";
import { integerParser } from "./numbers.js";

/** The options of a command that can work on several contexts at once. */
export interface FanOutFlags {
  on?: string;
  parallel: number;
  outputDir?: string;
}

/** Adds `--on`, `--parallel` and, for `run`, `--output-dir`. */
export function addFanOutOptions(cmd: Command, { outputDir = false } = {}): Command {
  cmd
    .option("--on <contexts>", 'the same on each of these contexts\' servers at once: NAME,NAME,… or "all"')
    .option("--parallel <n>", "with --on, hosts worked on at once", integerParser(1, 1000), DEFAULT_PARALLEL);
  if (outputDir) cmd.option("--output-dir <dir>", "with --on, write each host's output to DIR/<context>.stdout and .stderr, byte-exact");
  return cmd;
}

/**
 * The targets when `--on` is given (undefined otherwise); refuses the fan-out options
 * without `--on`. Usage errors exit 2 before anything is started.
 */
export function checkFanOutFlags(flags: FanOutFlags & ClientFlags, cmd: Command): Target[] | undefined {
  if (flags.on === undefined) {
    if (flags.outputDir !== undefined) throw fanOutUsage("--output-dir needs --on", cmd.name());
    if (cmd.getOptionValueSource("parallel") === "cli") throw fanOutUsage("--parallel needs --on", cmd.name());
    return undefined;
  }
  return resolveTargets(flags.on, flags, cmd.name());
}
