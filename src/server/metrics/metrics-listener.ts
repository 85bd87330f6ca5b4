import { createServer, type Server } from "node:http";
import { isIP } from "node:net";
import { ServerConfigError } from "../config-error.js";
import { ERRORS } from "../errors.js";
import type { HealthJson } from "../../protocol/health.js";
import { HttpError } from "../http-error.js";
import type { ServerMetrics } from "./server-metrics.js";

/** Where the plain-HTTP metrics listener listens (`serve --metrics-listen`). */
export interface MetricsListenOptions {
  host: string;
  port: number;
  /** Allow an address other than loopback (`--metrics-listen-any`): metrics then go out unauthenticated. */
  anyAddress?: boolean;
}

/** A started metrics listener. */
export interface MetricsListener {
  /** e.g. `http://127.0.0.1:9464/metrics` (`/healthz` beside it) */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Whether `host` names this machine's loopback: 127.0.0.0/8, ::1 (also as an IPv4-mapped
 * address) or `localhost`. Other names are not resolved: what a name points to can change.
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) !== 6) return false;
  // The URL parser writes an IPv6 address in its one canonical form (::ffff:127.0.0.1 is [::ffff:7f00:1]).
  const canonical = new URL(`http://[${bare}]/`).hostname;
  return canonical === "[::1]" || canonical.startsWith("[::ffff:7f");
}

/**
 * Refuses a non-loopback metrics address unless asked for by name: the plain listener has
 * no TLS and no client certificate, so anyone who can reach it reads who runs jobs.
 */
export function checkMetricsListen(options: MetricsListenOptions): void {
  if (!Number.isSafeInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new ServerConfigError(`the metrics port must be 0 to 65535, not ${options.port}`, undefined, { exitCode: 2 });
  }
  if (!options.anyAddress && !isLoopback(options.host)) {
    throw new ServerConfigError(
      `--metrics-listen ${options.host} is not a loopback address: metrics go out there in plain HTTP, without authentication (they name every identity running jobs)`,
      "listen on 127.0.0.1:PORT or [::1]:PORT for a local Prometheus agent, or add --metrics-listen-any to serve them on that address anyway",
      { exitCode: 2 },
    );
  }
}

/**
 * Serves `GET /metrics` and `GET /healthz` in plain HTTP, for a Prometheus agent, a load
 * balancer's or a supervisor's probe on the same host, which have no client certificate;
 * nothing else is there (404, or 405 for another method). `health` is the API's own
 * answer (routes/health.ts). Errors while listening are the same one-line
 * `ServerConfigError`s as the API's.
 */
export async function startMetricsListener(
  metrics: ServerMetrics,
  health: () => HealthJson,
  options: MetricsListenOptions,
  log: (line: string) => void,
): Promise<MetricsListener> {
  checkMetricsListen(options);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    const json = (status: number, body: object, headers: Record<string, string> = {}) =>
      response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers }).end(request.method === "HEAD" ? undefined : JSON.stringify(body));
    const refuse = (code: "NOT_FOUND" | "METHOD_NOT_ALLOWED", headers: Record<string, string> = {}) => {
      const { status, message } = ERRORS[code];
      json(status, { error: message, code }, headers);
    };
    if (path !== "/metrics" && path !== "/healthz") return refuse("NOT_FOUND");
    if (request.method !== "GET" && request.method !== "HEAD") return refuse("METHOD_NOT_ALLOWED", { allow: "GET" });
    if (path === "/healthz") {
      try {
        return json(200, health());
      } catch (err) {
        if (err instanceof HttpError) return json(err.statusCode, err.body() ?? {});
        throw err;
      }
    }
    metrics.text().then(
      (text) => response.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" }).end(request.method === "HEAD" ? undefined : text),
      (err: unknown) => {
        log(`internal error on the metrics listener: ${(err as Error)?.stack ?? String(err)}`.replaceAll("\n", " | "));
        const { status, message } = ERRORS.INTERNAL;
        response.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify({ error: message, code: "INTERNAL" }));
      },
    );
  });
  const where = `${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    const why = err.code === "EADDRINUSE" ? "the address is already in use" : err.code === "EACCES" ? "permission denied" : err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND" ? "no such local address" : err.message;
    throw new ServerConfigError(`cannot serve metrics on ${where}: ${why}`, "choose another --metrics-listen address", { cause: err });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const hostPart = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${hostPart}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
