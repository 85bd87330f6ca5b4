// `serve --listen`: where the daemon listens.
import { InvalidArgumentError } from "commander";

/** The address `jobworker serve` listens on when not told otherwise. */
export const DEFAULT_LISTEN = "127.0.0.1:8443";

/** A listen address as `serve` uses it. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port` or `[v6addr]:port`. */
export function parseListen(value: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new InvalidArgumentError(`expected HOST:PORT or [IPV6]:PORT, e.g. ${DEFAULT_LISTEN}`);
  }
  return { host: (match[1] ?? match[2])!, port };
}
