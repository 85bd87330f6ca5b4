// `serve --listen`: where the daemon listens.
import { InvalidArgumentError } from "commander";
import { DEFAULT_PORT } from "../../protocol/default-port.js";

/** The address `jobworker serve` listens on when not told otherwise. */
export const DEFAULT_LISTEN = `127.0.0.1:${DEFAULT_PORT}`;

/** A listen address as `serve` uses it. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** The host a bare `--listen PORT` listens on: loopback, like the default. */
export const DEFAULT_LISTEN_HOST = "127.0.0.1";

/**
 * `host:port`, `[v6addr]:port`, or a bare `port`, which means loopback on that port
 * (people type `--listen 18445` expecting what `--port 18445` does elsewhere; exposing
 * the API on every interface must be asked for by name).
 */
export function parseListen(value: string): ListenAddress {
  const bare = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (bare <= 65535) return { host: DEFAULT_LISTEN_HOST, port: bare };
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new InvalidArgumentError(`expected PORT, HOST:PORT or [IPV6]:PORT, e.g. ${DEFAULT_LISTEN}`);
  }
  return { host: (match[1] ?? match[2])!, port };
}
