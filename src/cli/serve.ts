import type { Command } from "commander";
/** Registers `jobworker serve` (filled in by the server work). */
export function registerServeCommand(_program: Command): void {}
