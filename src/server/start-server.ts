import type { Server as HttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { JobPool, type PoolOptions } from "../engine/index.js";
import { Admins, type AdminChange } from "./admins.js";
import type { AuditDestination } from "./audit-log.js";
import { clientErrorHandler } from "./client-error-handler.js";
import { DEFAULT_MAX_QUEUED_PER_CLIENT, DEFAULT_MAX_RUNNING_PER_CLIENT } from "./defaults.js";
import { checkTlsMaterial } from "./check-tls-material.js";
import { checkUnconfinedListen } from "./unconfined-listen.js";
import { ServerConfigError } from "./config-error.js";
import { toHttpError } from "./map-error.js";
import { errorAnswersPlugin } from "./plugins/error-answers.js";
import { identityPlugin } from "./plugins/identity.js";
import { createRequestLog, requestLogPlugin } from "./plugins/request-log.js";
import { shutdownPlugin } from "./plugins/shutdown.js";
import { checkMetricsListen, startMetricsListener, type MetricsListener, type MetricsListenOptions } from "./metrics/metrics-listener.js";
import { ServerMetrics } from "./metrics/server-metrics.js";
import { closeRevokedConnections } from "./revocation.js";
import { healthOf, registerHealthRoute } from "./routes/health.js";
import { registerJobRoutes } from "./routes/jobs.js";
import { registerOpenApi } from "./openapi.js";
import { registerMethodNotAllowed } from "./routes/method-not-allowed.js";
import { registerMetricsRoute } from "./routes/metrics.js";
import { readTlsMaterial, secureContextOptions, serverTlsOptions, cipherSuites, type TlsFiles } from "./tls-options.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The client certificate's CN: who is asking. */
    identity: string;
    /** The job the request is about, once known to be the caller's (for the audit log). */
    jobId: string | null;
    /** The job's owner (or the owner listed) when an admin acts on another identity's (for the audit log). */
    jobOwner: string | null;
  }
}

/** Largest request body accepted (a job spec is small); more gets 413. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Address to listen on; default 127.0.0.1 (loopback only). */
  host?: string;
  /** Port; 0 (the default) picks a free one, see {@link RunningServer.port}. */
  port?: number;
  /** CA certificate (PEM) client certificates must chain to. */
  caFile: string;
  /** Server certificate (PEM). */
  certFile: string;
  /** Server private key (PEM). */
  keyFile: string;
  /** CRL (PEM) of the CA: listed client certificates are refused. Required to exist. */
  crlFile?: string;
  /** Like `crlFile`, but a missing file means no CRL (checked again on each reload). */
  crlFileIfExists?: string;
  /**
   * The jobs to serve: a {@link JobPool} (which the server then does not close), or the
   * options of the pool the server opens, and closes with itself (see the engine's
   * `PoolOptions`: `dataDir`, grace, limits, isolation, confinement, …).
   */
  pool: JobPool | PoolOptions;
  /** Identities that may act on every job (`serve --admin`); fixed for the server's life. */
  admins?: readonly string[];
  /**
   * Prometheus metrics (`GET /metrics` for admins, docs/api.md "Metrics"); default on.
   * `false` leaves them out altogether: no route, no counting (a baseline for bench/metrics.mjs).
   */
  metrics?: boolean;
  /** Also serve `GET /metrics` in plain HTTP there (`serve --metrics-listen`): loopback only unless `anyAddress`. */
  metricsListen?: MetricsListenOptions;
  /** Serve beyond loopback even when jobs run as the server's user, unconfined (`serve --accept-unconfined`). */
  acceptUnconfined?: boolean;
  /** A file of admin identities, one per line (`serve --admins-file`), re-read by `reloadAdmins()`. */
  adminsFile?: string;
  /** Where audit lines go (JSON lines, written by pino); default process.stdout, false for none. */
  auditLog?: AuditDestination | false;
  /** TLS 1.3 suites to allow, colon-separated; default all three. */
  ciphers?: string;
  /** The server's own log (rare lines: internal errors, audit failures); default stderr. */
  log?: (line: string) => void;
}

/** One method and URL template of {@link RunningServer.routes}. */
export interface ServedRoute {
  method: string;
  url: string;
}

/** A server started by {@link startServer}. */
export interface RunningServer {
  /** e.g. `https://127.0.0.1:8443` */
  url: string;
  port: number;
  pool: JobPool;
  /** Every route the server answers, as fastify registered it (method and URL template, e.g. `/jobs/:id`). */
  routes: readonly ServedRoute[];
  /** The plain-HTTP metrics address, e.g. `http://127.0.0.1:9464/metrics`, when `metricsListen` was given. */
  metricsUrl?: string;
  /** Re-reads cert, key, CA and CRL and applies them to new connections; on failure keeps the old ones and rejects. */
  reloadTls(): Promise<void>;
  /** Every admin identity now, sorted. */
  admins(): string[];
  /** Re-reads the admins file; on failure keeps the previous list and rejects with a `ServerConfigError`. */
  reloadAdmins(): Promise<AdminChange>;
  /** Stops accepting, ends open connections, and closes the pool if the server opened it. Idempotent. */
  close(): Promise<void>;
}

/**
 * A server's pool bounds each identity: DEFAULT_MAX_RUNNING_PER_CLIENT running at once,
 * DEFAULT_MAX_QUEUED_PER_CLIENT more waiting, unless its options say otherwise.
 */
function withServerQueue(options: PoolOptions): PoolOptions {
  return { ...options, queue: { maxRunningPerOwner: DEFAULT_MAX_RUNNING_PER_CLIENT, maxQueuedPerOwner: DEFAULT_MAX_QUEUED_PER_CLIENT, ...options.queue } };
}

/**
 * Starts the worker daemon: the job pool over HTTPS with mutual TLS (docs/api.md).
 *
 * @example
 * const server = await startServer({ caFile, certFile, keyFile, pool: { dataDir }, port: 0 });
 * console.log(server.url);
 * await server.close();
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`jobworker: ${line}\n`));
  cipherSuites(options.ciphers); // validate before anything is opened
  if (options.metricsListen) {
    if (options.metrics === false) throw new ServerConfigError("metrics are off, so they cannot be served on a metrics address", "drop the metrics address, or turn metrics on", { exitCode: 2 });
    checkMetricsListen(options.metricsListen);
  }
  const files: TlsFiles = {
    caFile: options.caFile,
    certFile: options.certFile,
    keyFile: options.keyFile,
    ...(options.crlFile !== undefined ? { crlFile: options.crlFile } : {}),
    ...(options.crlFileIfExists !== undefined ? { crlFileIfExists: options.crlFileIfExists } : {}),
  };
  const material = await readTlsMaterial(files);
  checkTlsMaterial(material, files);
  const admins = await Admins.load({ ...(options.admins && { names: options.admins }), ...(options.adminsFile !== undefined && { file: options.adminsFile }) });

  // JavaScript callers of the old shape (dataDir and pool options at the top) get a sentence, not a TypeError.
  if (typeof options.pool !== "object" || options.pool === null) throw new ServerConfigError("startServer needs `pool`: a JobPool, or the options of one to open ({ dataDir, … })");
  const ownsPool = !(options.pool instanceof JobPool);
  const pool = options.pool instanceof JobPool ? options.pool : await JobPool.open(withServerQueue(options.pool));
  try {
    checkUnconfinedListen(pool, options.host ?? "127.0.0.1", options.acceptUnconfined === true);
  } catch (err) {
    if (ownsPool) await pool.close();
    throw err;
  }
  const metrics = options.metrics === false ? undefined : new ServerMetrics(pool);
  let metricsListener: MetricsListener | undefined;
  try {
    // Authenticated connections, so that a reload can close those whose certificate it revokes.
    const openSockets = new Set<TLSSocket>();
    const routes: ServedRoute[] = [];
    const app = await buildApp({ pool, material, options, log, openSockets, routes, metrics, admins });
    const host = options.host ?? "127.0.0.1";
    await listen(app, host, options.port ?? 0);
    if (metrics && options.metricsListen) {
      try {
        metricsListener = await startMetricsListener(metrics, () => healthOf(pool), options.metricsListen, log);
      } catch (err) {
        await app.close();
        throw err;
      }
    }
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : (options.port ?? 0);
    const url = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
    const servedPool = pool;
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      pool: servedPool,
      routes,
      ...(metricsListener && { metricsUrl: metricsListener.url }),
      async reloadTls() {
        let material;
        try {
          material = await readTlsMaterial(files);
          try {
            checkTlsMaterial(material, files);
          } catch (err) {
            throw new ServerConfigError(`the new TLS files are not usable: ${(err as Error).message}`, "the previous certificates stay in use", { cause: err });
          }
          app.server.setSecureContext(secureContextOptions(material, options.ciphers));
        } catch (err) {
          throw err instanceof ServerConfigError
            ? err
            : new ServerConfigError(`the new TLS files are not usable: ${(err as Error).message}`, "the previous certificates stay in use", { cause: err });
        }
        if (material.crl) await closeRevokedConnections(openSockets, material.crl);
      },
      admins: () => admins.list(),
      reloadAdmins: () => admins.reload(),
      close() {
        closing ??= (async () => {
          await Promise.all([app.close(), metricsListener?.close()]);
          metrics?.close();
          if (ownsPool) await servedPool.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    metrics?.close();
    if (ownsPool) await pool.close();
    throw err;
  }
}

interface AppParts {
  pool: JobPool;
  material: Awaited<ReturnType<typeof readTlsMaterial>>;
  options: ServerOptions;
  log: (line: string) => void;
  openSockets: Set<TLSSocket>;
  /** Filled with every route as it is registered. */
  routes: ServedRoute[];
  /** Undefined when metrics are off. */
  metrics: ServerMetrics | undefined;
  admins: Admins;
}

/**
 * The fastify app: its TLS and limits, then one plugin per concern (src/server/plugins/),
 * in the order their onRequest hooks must run (request log, shutdown, identity), the
 * error answers, and the routes.
 */
async function buildApp({ pool, material, options, log, openSockets, routes, metrics, admins }: AppParts): Promise<FastifyInstance<HttpsServer>> {
  const requestLog = createRequestLog(options.auditLog ?? process.stdout, metrics, log);
  const app = Fastify({
    https: serverTlsOptions(material, options.ciphers),
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Long enough that any id a URL can carry reaches the route, which answers the
    // same 404 for a malformed id as for an unknown one.
    routerOptions: { maxParamLength: 16 * 1024 },
    exposeHeadRoutes: false,
    // Follow streams would otherwise keep close() waiting until their jobs end.
    forceCloseConnections: true,
    // Fastify's own 503 while closing has none of our error shape: plugins/shutdown.ts answers.
    return503OnClosing: false,
    // verbose: each complaint carries its schema, whose description completes the refusal's
    // sentence (src/server/validation-message.ts).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false, verbose: true } },
    // Requests Node's parser refuses (raw non-ASCII in the URL, huge headers, a timeout).
    clientErrorHandler: clientErrorHandler(() => requestLog.audit),
    // Refusals fastify makes before routing (a malformed URL): same shape, and audited too.
    frameworkErrors: (err, request, reply) => {
      const httpError = toHttpError(err);
      requestLog.track(request as FastifyRequest, reply as FastifyReply);
      void (reply as FastifyReply).code(httpError.statusCode).send(httpError.body());
    },
  });
  // First of all, so that it sees every route (checked against the OpenAPI document by its test).
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  await app.register(requestLogPlugin, { requestLog });
  await app.register(shutdownPlugin);
  await app.register(identityPlugin, { log, metrics, openSockets });
  await app.register(errorAnswersPlugin, { log });
  // Before every route: it learns them from fastify's onRoute hook.
  await registerOpenApi(app);
  registerJobRoutes(app, { pool, admins, ...(metrics && { onJobRunning: (seconds: number) => metrics.jobStarted(seconds) }) });
  registerHealthRoute(app, pool);
  if (metrics) registerMetricsRoute(app, metrics, (identity) => admins.has(identity));
  // Last: a known path with the wrong method says so (405 and Allow) instead of "not
  // found", for every route registered above, plugins' included once they have loaded.
  await app.after();
  registerMethodNotAllowed(app, [...routes]);
  return app;
}

async function listen(app: FastifyInstance<HttpsServer>, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port, listenTextResolver: () => "" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    await app.close().catch(() => {});
    if (code === "EADDRINUSE") throw new ServerConfigError(`cannot listen on ${where}: the address is already in use`, "stop the other server or choose another --listen port", { cause: err });
    if (code === "EACCES") throw new ServerConfigError(`cannot listen on ${where}: permission denied`, "use a port above 1023", { cause: err });
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
      throw new ServerConfigError(`cannot listen on ${where}: no such local address`, "listen on an address of this host, e.g. 127.0.0.1", { cause: err });
    }
    if (err instanceof Error && /PEM|key|certificate|asn1|decoder/i.test(err.message)) {
      throw new ServerConfigError(`the TLS files are not usable: ${err.message}`, "check --ca, --cert and --key", { cause: err });
    }
    throw err;
  }
}
