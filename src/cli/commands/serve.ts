// `jobworker serve`: the worker daemon. Turns flags into `startServer` options, creates the
// development PKI on first run (the embedded default), and handles the process signals.
import type { SonicBoom } from "sonic-boom";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
// Light modules only at load time: the server, the engine and the certificate code are
// imported when `serve` runs, so that client commands start fast.
import type { RetentionPolicy, RunAsUser } from "../../engine/index.js";
import { DEFAULT_CLIENT_NAME } from "../../pki/defaults.js";
import { defaultHome, defaultPkiDir, pkiPaths } from "../../pki/paths.js";
import { ServerConfigError } from "../../server/config-error.js";
import { DEFAULT_MAX_QUEUED_PER_CLIENT, DEFAULT_MAX_RUNNING_PER_CLIENT } from "../../server/defaults.js";
import type { ServerOptions } from "../../server/index.js";
import { collect } from "../options/repeatable.js";
import { addLimitOptions, engineLimitsOf, limitFlagsOf, parseBytes, parseCpus } from "../options/limits.js";
import { integerParser } from "../options/numbers.js";
import { DEFAULT_LISTEN, parseListen, type ListenAddress } from "../options/listen.js";
import { parseNonNegativeInt, parsePositiveInt } from "../options/numbers.js";
import { parseRetention } from "../options/retention.js";
import { parseNetwork, type NetworkMode } from "../options/network.js";
import { parseDuration } from "../options/duration.js";

/** The flags of `jobworker serve`, as commander parses them. */
interface ServeFlags {
  listen: ListenAddress;
  home?: string;
  dataDir?: string;
  ca?: string;
  cert?: string;
  key?: string;
  crl?: string;
  ciphers?: string;
  maxRunningPerClient: number;
  maxQueuedPerClient: number;
  maxRunning?: number;
  auditLog?: string;
  stopGraceMs?: number;
  maxOutputBytes?: number;
  retain?: RetentionPolicy;
  runAs?: string;
  uidRange?: string;
  clientMaxMemory?: number;
  clientMaxPids?: number;
  clientMaxCpus?: number;
  writable?: string[];
  /** commander's `--no-cgroups`: false when given. */
  cgroups: boolean;
  maxTimeout?: number;
  defaultTimeout?: number;
  /** commander's `--no-isolation`: false when given. */
  isolation: boolean;
  network?: NetworkMode;
  tmpSize?: number;
  admin?: string[];
  /** commander's `--no-metrics`: false when given. */
  metrics: boolean;
  metricsListen?: ListenAddress;
  metricsListenAny?: boolean;
  acceptUnconfined?: boolean;
  adminsFile?: string;
}

/** Registers `jobworker serve`. */
export function registerServeCommand(program: Command): void {
  const serveCommand = program
    .command("serve")
    .description("run the worker daemon: the job API over HTTPS with mutual TLS (see docs/api.md)")
    // The default as typed, not commander's JSON of the parsed value.
    .addOption(
      new Option("--listen <host:port>", "address to listen on: HOST:PORT, [::1]:PORT for IPv6, or PORT alone for 127.0.0.1:PORT; port 0 picks a free one")
        .argParser(parseListen)
        .default(parseListen(DEFAULT_LISTEN), DEFAULT_LISTEN),
    )
    .option("--home <dir>", "jobworker home, holding pki/ and data/ (default: $JOBWORKER_HOME or ~/.jobworker)")
    .option("--data-dir <dir>", "where job output is kept (default: <home>/data)")
    .option("--ca <file>", "CA certificate client certificates must chain to (default: <home>/pki/ca.pem)")
    .option("--cert <file>", "server certificate (default: <home>/pki/server.pem)")
    .option("--key <file>", "server private key (default: <home>/pki/server.key)")
    .option("--crl <file>", "revocation list of the CA (default: <home>/pki/crl.pem when it exists and no TLS flag is given)")
    .option("--ciphers <list>", "TLS 1.3 cipher suites to allow, colon-separated (default: all three)")
    .option("--max-running-per-client <n>", "most jobs one client may have running at once; the next ones wait, queued", parsePositiveInt, DEFAULT_MAX_RUNNING_PER_CLIENT)
    .option("--max-queued-per-client <n>", "most jobs one client may have waiting for a slot; beyond, 429 (0: refuse instead of queueing)", parseNonNegativeInt, DEFAULT_MAX_QUEUED_PER_CLIENT)
    .option("--max-running <n>", "most jobs the whole server runs at once; clients then take turns (default: no bound but theirs)", parsePositiveInt)
    .option("--audit-log <file>", "append the audit log (one JSON line per request) to this file instead of stdout")
    .option("--stop-grace-ms <n>", "time between SIGTERM and SIGKILL when stopping a job (default 5000)", parseNonNegativeInt)
    .option("--max-output-bytes <size>", "most output kept per stream of a job, e.g. 100M; a job writing more is stopped and marked truncated (default 1G)", parseBytes)
    .option("--retain <age|count>", "remove finished jobs older than an age (7d, 12h) or beyond the newest count (1000), or both: 7d,1000 (default: keep all)", parseRetention);
  addLimitOptions(serveCommand, "max");
  addLimitOptions(serveCommand, "default");
  serveCommand
    .option("--run-as <user>", "run jobs as this unprivileged user (the server keeps root to manage cgroups)")
    .option("--no-cgroups", "do not use cgroups: jobs are killed by process group only, and every limit is refused")
    .option("--max-timeout <duration>", "longest --timeout a job may ask for, e.g. 1h; a job that asks for none gets the default, else this", parseDuration)
    .option("--default-timeout <duration>", "timeout of jobs that ask for none, e.g. 30m", parseDuration)
    .option("--no-isolation", "do not give jobs namespaces of their own (PID, mount with a private /tmp, IPC, UTS)")
    .option("--network <mode>", '"none": every job gets only loopback, whatever it asks for (default: jobs choose; host)', parseNetwork)
    .option("--tmp-size <size>", "size of each job's private /tmp and /var/tmp, e.g. 256M (default: the job's memory limit, else 64M)", parseBytes)
    .option("--client-max-memory <size>", "memory all of one identity's jobs may use together, e.g. 8G (default on a root server: 75% of the host's)", parseBytes)
    .option("--client-max-pids <n>", "processes all of one identity's jobs may have together (default on a root server: 15% of pid_max)", integerParser(2, 4194304, "processes"))
    .option("--client-max-cpus <n>", "CPUs all of one identity's jobs may use together, e.g. 1.5 (default on a root server: all of them)", parseCpus)
    .option("--uid-range <first-last>", "uids (and gids) for the identities' jobs on a root server, one per identity, kept for ever (default 700000000-700999999)")
    .option("--writable <path>", "leave this host path writable for jobs (the host is read-only to them); shared by every identity; repeatable", collect)
    .option("--admin <name>", "an identity (client certificate CN) that may list, read, stop and delete every job and read /metrics; repeatable", collect)
    .option("--metrics-listen <host:port>", "also serve GET /metrics and GET /healthz in plain HTTP, without authentication, on this loopback address, e.g. 127.0.0.1:9464 (for a local Prometheus agent and health probes)", parseListen)
    .option("--accept-unconfined", "without root, where jobs cannot be confined: serve beyond loopback anyway (every client can then act as your user)")
    .option("--metrics-listen-any", "allow --metrics-listen on an address other than loopback (anyone who reaches it reads the metrics)")
    .option("--no-metrics", "collect no Prometheus metrics: no GET /metrics, no counting")
    .option("--admins-file <file>", "more admin identities, one per line (# comments); re-read on SIGHUP, so a role is given or taken without a restart")
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  const [{ DataDirLockedError, EngineError, parseUidRange, resolveUser }, { startServer }] = await Promise.all([import("../../engine/index.js"), import("../../server/index.js")]);
  const home = flags.home !== undefined ? resolve(flags.home) : defaultHome();
  const tls = await tlsFiles(flags, home);
  const auditStream = flags.auditLog !== undefined ? await openAuditLog(resolve(flags.auditLog)) : undefined;
  const dataDir = flags.dataDir !== undefined ? resolve(flags.dataDir) : join(home, "data");
  const log = (line: string) => void process.stderr.write(`jobworker: ${line}\n`);
  let runAs: RunAsUser | undefined;
  if (flags.runAs !== undefined) {
    try {
      runAs = resolveUser(flags.runAs);
    } catch (err) {
      throw new ServerConfigError(`--run-as: ${(err as Error).message}`, "name an existing user, e.g. nobody", { exitCode: 2 });
    }
  }
  let uidRange: ReturnType<typeof parseUidRange> | undefined;
  if (flags.uidRange !== undefined) {
    try {
      uidRange = parseUidRange(flags.uidRange);
    } catch (err) {
      throw new ServerConfigError(`--uid-range: ${(err as Error).message}`, "give FIRST-LAST, e.g. 700000000-700999999", { exitCode: 2 });
    }
  }
  const writable = (flags.writable ?? []).map((path) => resolve(path));
  // Every file a flag names is the server's: jobs never see it (native/confine.c masks them).
  const masks = [home, ...[tls.caFile, tls.certFile, tls.keyFile, tls.crlFile ?? tls.crlFileIfExists, flags.auditLog, flags.adminsFile].filter((path): path is string => path !== undefined).map((path) => resolve(path))];
  if (flags.metricsListenAny && !flags.metricsListen) {
    throw new ServerConfigError("--metrics-listen-any needs --metrics-listen", "give the address too, e.g. --metrics-listen 0.0.0.0:9464 --metrics-listen-any", { exitCode: 2 });
  }
  if (!flags.metrics && flags.metricsListen) {
    throw new ServerConfigError("--metrics-listen and --no-metrics contradict each other", "drop one of them", { exitCode: 2 });
  }
  const maxima = engineLimitsOf(limitFlagsOf(flags, "max"));
  const defaults = engineLimitsOf(limitFlagsOf(flags, "default"));

  const server = await startServer({
    ...tls,
    host: flags.listen.host,
    port: flags.listen.port,
    pool: {
      dataDir,
      ...(flags.stopGraceMs !== undefined ? { stopGraceMs: flags.stopGraceMs } : {}),
      ...(flags.maxOutputBytes !== undefined ? { maxOutputBytes: flags.maxOutputBytes } : {}),
      ...(flags.retain !== undefined ? { retain: flags.retain } : {}),
      ...((maxima || defaults) && { limits: { ...(defaults && { defaults }), ...(maxima && { maxima }) } }),
      ...(!flags.cgroups && { cgroups: false as const }),
      ...((flags.maxTimeout !== undefined || flags.defaultTimeout !== undefined) && {
        timeouts: { ...(flags.maxTimeout !== undefined && { maxMs: flags.maxTimeout }), ...(flags.defaultTimeout !== undefined && { defaultMs: flags.defaultTimeout }) },
      }),
      isolation: flags.isolation ? { ...(flags.network === "none" && { networkNone: true }), ...(flags.tmpSize !== undefined && { tmpSizeBytes: flags.tmpSize }) } : false,
      ...(runAs && { runAs }),
      confinement: { ...(uidRange && { uidRange }), writable, masks },
      queue: {
        maxRunningPerOwner: flags.maxRunningPerClient,
        maxQueuedPerOwner: flags.maxQueuedPerClient,
        ...(flags.maxRunning !== undefined && { maxRunning: flags.maxRunning }),
      },
      clientLimits: {
        ...(flags.clientMaxMemory !== undefined && { memoryBytes: flags.clientMaxMemory }),
        ...(flags.clientMaxPids !== undefined && { pids: flags.clientMaxPids }),
        ...(flags.clientMaxCpus !== undefined && { cpus: flags.clientMaxCpus }),
      },
    },
    auditLog: auditStream ?? process.stdout,
    log,
    ...(flags.ciphers !== undefined ? { ciphers: flags.ciphers } : {}),
    ...(flags.admin && { admins: flags.admin }),
    ...(!flags.metrics && { metrics: false }),
    ...(flags.metricsListen && { metricsListen: { ...flags.metricsListen, ...(flags.metricsListenAny && { anyAddress: true }) } }),
    ...(flags.adminsFile !== undefined && { adminsFile: resolve(flags.adminsFile) }),
    ...(flags.acceptUnconfined && { acceptUnconfined: true }),
  }).catch(async (err: unknown) => {
    auditStream?.destroy();
    // A limit the host cannot enforce, a default above its maximum…: one line, exit 2.
    // Another server owns the data directory: one line naming it, and nothing touched.
    if (err instanceof DataDirLockedError) throw new ServerConfigError(err.message, "stop that server first, or give this one its own --data-dir");
    // Records a newer jobworker wrote: never read, never downgraded.
    if (err instanceof EngineError && err.code === "STORE_TOO_NEW") throw new ServerConfigError(err.message, "run the jobworker that wrote it, or a newer one; or give this one its own --data-dir");
    if (err instanceof EngineError && err.code === "ISOLATION_NOT_AVAILABLE") throw new ServerConfigError(err.message, "run serve as root with the launcher built (npm run build), or drop --network none", { exitCode: 2 });
    if (err instanceof EngineError && err.code === "LAUNCHER_UNAVAILABLE") throw new ServerConfigError(err.message, "npm run build", { exitCode: 2 });
    if (err instanceof EngineError && err.code === "INVALID_ARGUMENT") throw new ServerConfigError(err.message, "check --uid-range, --writable and --run-as", { exitCode: 2 });
    if (err instanceof EngineError) throw new ServerConfigError(err.message, "change the limit flags, or run where cgroups are available", { exitCode: 2 });
    throw err;
  });
  const control = server.pool.resourceControl();
  log(control.summary);
  for (const problem of control.problems) log(`cannot: ${problem}`);
  log(server.pool.isolation().summary);
  log(server.pool.startPath().summary);
  if (!flags.metrics) log("metrics: off (--no-metrics)");
  if (server.metricsUrl) log(`metrics: also in plain HTTP, without authentication, at ${server.metricsUrl}`);
  // Only when admins are configured: a server without them starts as it always did.
  if (flags.admin !== undefined || flags.adminsFile !== undefined) log(adminsLine(server.admins(), flags.adminsFile));
  log(server.pool.confinement().summary);
  log(server.pool.queuePolicy().summary);
  const jobDefaults = server.pool.limitPolicy().defaults;
  if (Object.keys(jobDefaults).length > 0) log(`default limits for jobs that ask for none: ${describeLimits(jobDefaults)}`);
  const perClient = server.pool.limitPolicy().perClient;
  if (Object.keys(perClient).length > 0) log(`limits over each identity's jobs together: ${describeLimits(perClient)}`);
  if (runAs?.uid === 0) log("warning: jobs run as root (--run-as root): every client can do anything root can on this host");
  const { certificateCoverageWarning } = await import("../../server/certificate-coverage.js");
  const coverage = certificateCoverageWarning(await readFile(tls.certFile), flags.listen.host);
  if (coverage) log(coverage);

  await new Promise<void>((done) => {
    const onHangup = () => {
      // logrotate moved the audit log away: carry on in a new file at the same path.
      auditStream?.reopen();
      server.reloadTls().then(
        () => log("reloaded the TLS certificates, key, CA and CRL"),
        (err: unknown) => log(`TLS reload failed, keeping the previous certificates: ${(err as Error).message}`),
      );
      if (flags.adminsFile !== undefined) {
        server.reloadAdmins().then(
          ({ admins, added, removed }) =>
            log(`reloaded the admin list: ${admins.length === 0 ? "no admins" : admins.join(", ")}${added.length > 0 ? `; added ${added.join(", ")}` : ""}${removed.length > 0 ? `; removed ${removed.join(", ")}` : ""}`),
          (err: unknown) => log(`admin list reload failed, keeping the previous admins: ${(err as Error).message}`),
        );
      }
    };
    let stopping = false;
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal while running jobs are being terminated: stop waiting.
        log(`${signal} again: exiting without waiting for jobs`);
        process.exit(1);
      }
      stopping = true;
      log(`${signal}: stopping (terminating running jobs)`);
      server.close().then(
        () => {
          process.off("SIGHUP", onHangup);
          process.off("SIGINT", onStop);
          process.off("SIGTERM", onStop);
          done();
        },
        (err: unknown) => {
          log(`error while stopping: ${(err as Error).message}`);
          process.exitCode = 1;
          done();
        },
      );
    };
    process.on("SIGHUP", onHangup);
    process.on("SIGINT", onStop);
    process.on("SIGTERM", onStop);
    // Only now: whoever waits for this line may signal us at once, and a SIGTERM before
    // the handlers above would kill the server without stopping its jobs.
    log(`listening on ${server.url} (data: ${dataDir})`);
  });
  // Whatever the audit log still buffers goes to disk before we exit.
  if (auditStream) {
    auditStream.flushSync();
    auditStream.end();
  }
}

/** The start-up line about admins: who they are, and how the list changes. */
function adminsLine(admins: readonly string[], file: string | undefined): string {
  const who = admins.length === 0 ? "no admins yet" : `admins (may act on every job): ${admins.join(", ")}`;
  return file !== undefined ? `${who}; SIGHUP re-reads ${file}` : who;
}

/**
 * The TLS files: all three flags, or none (then the home's PKI, created on first run
 * — the embedded default — with its CRL when there is one).
 */
async function tlsFiles(flags: ServeFlags, home: string): Promise<Pick<ServerOptions, "caFile" | "certFile" | "keyFile" | "crlFile" | "crlFileIfExists">> {
  const given = [flags.ca, flags.cert, flags.key].filter((f) => f !== undefined).length;
  const crl = flags.crl !== undefined ? { crlFile: resolve(flags.crl) } : undefined;
  if (given === 3) return { caFile: resolve(flags.ca!), certFile: resolve(flags.cert!), keyFile: resolve(flags.key!), ...crl };
  if (given > 0) {
    throw new ServerConfigError("--ca, --cert and --key go together", "give all three, or none to use <home>/pki", { exitCode: 2 });
  }
  const dir = defaultPkiDir(home);
  const { ensureDevPki } = await import("../../pki/index.js");
  if (await ensureDevPki(home)) {
    process.stderr.write(
      `jobworker: created a development PKI in ${dir} (CA, server certificate for localhost, 127.0.0.1, ::1, client "${DEFAULT_CLIENT_NAME}")\n`,
    );
  }
  const paths = pkiPaths(dir);
  return { caFile: paths.caCert, certFile: paths.serverCert, keyFile: paths.serverKey, ...(crl ?? { crlFileIfExists: paths.crl }) };
}

/** Opens the audit log for appending (mode 0600), failing with one line naming the file. */
async function openAuditLog(path: string): Promise<SonicBoom> {
  const { openAuditFile } = await import("../../server/audit-log.js");
  return openAuditFile(path).catch((err: Error) => {
    throw new ServerConfigError(`cannot open the audit log ${path}: ${err.message}`, "check that its directory exists and is writable");
  });
}

/** "pids 4096, memory 11.7 GiB": the limits as people read them. */
function describeLimits(limits: object): string {
  const gib = (bytes: number) => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.floor(bytes / 1024 ** 2)} MiB`);
  return Object.entries(limits)
    .filter((entry): entry is [string, number] => entry[1] !== undefined)
    .map(([name, value]) => (name === "memoryBytes" ? `memory ${gib(value)}` : name === "pids" ? `${value} processes` : name === "cpus" ? `${value} CPUs` : `${name} ${value}`))
    .join(", ");
}
