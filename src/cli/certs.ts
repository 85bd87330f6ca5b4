import type { Command } from "commander";
/** Registers `jobworker certs …` (filled in by the PKI work). */
export function registerCertsCommands(_program: Command): void {}
