import type { Command } from "commander";
/** Registers the client commands (filled in by the client work). */
export function registerClientCommands(_program: Command): void {}
