import type { JobPool } from "../engine/index.js";
import { ServerConfigError } from "./config-error.js";
import { isLoopback } from "./metrics/metrics-listener.js";

/**
 * Refuses to serve beyond loopback when jobs run as the server's own user, unconfined (a
 * server that is not root, on a host without user namespaces for it): every client would
 * become that user, with its keys and its files. Allowed with `serve --accept-unconfined`.
 */
export function checkUnconfinedListen(pool: JobPool, host: string, accepted: boolean): void {
  if (accepted || isLoopback(host) || process.getuid?.() === 0) return;
  if (pool.confinement().mode !== "as-server") return;
  throw new ServerConfigError(
    `refusing to listen on ${host}: jobs would run as you, unconfined (the server is not root and jobs get no user namespace here), so every client could read and change whatever your user can`,
    "listen on loopback (the default), run the server as root, allow unprivileged user namespaces, or add --accept-unconfined if every client may act as your user",
    { exitCode: 2 },
  );
}
