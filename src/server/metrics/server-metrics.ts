import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { JobPool, JobRecord, OutputName } from "../../engine/index.js";
import { REFUSAL_REASONS, type RefusalReason } from "../handshake-refusal.js";
import { JOB_OUTCOMES, jobOutcome } from "./job-outcome.js";

/** The `route` label of a request that matched no route: never the raw URL, which is the client's to choose. */
export const UNMATCHED_ROUTE = "unmatched";

const STREAMS = ["stdout", "stderr"] as const satisfies readonly OutputName[];

/** Seconds from a PUT /jobs to its job running: a launcher start is ~1 ms, a slow host 100s of ms. */
const START_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The process's own metrics (CPU, memory, event loop lag, GC, descriptors), made once per
 * process: prom-client's default collectors start timers and observers that nothing can
 * stop, so one set is shared by every server of the process instead of one per server.
 * Kept out of prom-client's global registry, which belongs to whoever embeds us.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * A server's Prometheus metrics (docs/api.md, "Metrics"), in a registry of its own, so
 * that several servers in one process never share or clash. Jobs are counted from the
 * pool's events (`JobPool.observe`); what is a state rather than an event (records by
 * state, output so far, a full disk) is read from the pool when scraped, from counts it
 * keeps, so a scrape never scans the job store and requests never pay for metrics they
 * do not ask for beyond one counter increment.
 */
export class ServerMetrics {
  /** The `content-type` of {@link text}: Prometheus text format 0.0.4. */
  readonly contentType: string;
  private readonly registry = new Registry();
  private readonly started: Counter;
  private readonly ended: Counter<"outcome">;
  private readonly startSeconds: Histogram;
  /**
   * Requests answered, by route template and status code: plain numbers on the request
   * path, handed to prom-client when scraped (its `inc` hashes and checks the labels each
   * time, which bench/metrics.mjs showed as 3-5% of a status request's CPU).
   */
  private readonly requestCounts = new Map<string, Map<number, number>>();
  private readonly handshakeFailures: Counter<"reason">;
  /** Running jobs per owner, so that an owner's label goes once its count is back to 0. */
  /** Output of the jobs that ended while observed; running jobs' output is added when scraped. */
  private readonly endedOutput: Record<OutputName, number> = { stdout: 0, stderr: 0 };
  private readonly unobserve: () => void;

  constructor(pool: JobPool) {
    const registers = [this.registry];
    this.contentType = this.registry.contentType;
    const endedOutput = this.endedOutput;
    new Gauge({
      name: "jobworker_jobs",
      help: "Job records by state (queued, running, completed, error), as kept in the job store.",
      labelNames: ["state"],
      registers,
      collect() {
        for (const [state, count] of Object.entries(pool.countByState())) this.set({ state }, count);
      },
    });
    this.started = new Counter({ name: "jobworker_jobs_started_total", help: "Jobs accepted and recorded, including those that failed to start.", registers });
    this.ended = new Counter({ name: "jobworker_jobs_ended_total", help: "Jobs ended, by outcome.", labelNames: ["outcome"], registers });
    for (const outcome of JOB_OUTCOMES) this.ended.inc({ outcome }, 0);
    this.startSeconds = new Histogram({
      name: "jobworker_job_start_seconds",
      help: "Seconds from a PUT /jobs request's arrival to its job running.",
      buckets: START_BUCKETS,
      registers,
    });
    // Read from the pool's slots when scraped: an owner with none has no series, so the
    // label set stays as small as the set of identities with jobs running or waiting now.
    new Gauge({
      name: "jobworker_running_jobs",
      help: "Running jobs per owner (client certificate CN); an owner with none has no series.",
      labelNames: ["owner"],
      registers,
      collect() {
        this.reset();
        for (const [owner, count] of pool.runningByOwner()) this.set({ owner }, count);
      },
    });
    new Gauge({
      name: "jobworker_queued_jobs",
      help: "Jobs waiting for a slot per owner (serve --max-running-per-client, --max-running); an owner with none has no series.",
      labelNames: ["owner"],
      registers,
      collect() {
        this.reset();
        for (const [owner, count] of pool.queuedByOwner()) this.set({ owner }, count);
      },
    });
    new Counter({
      name: "jobworker_output_bytes_total",
      help: "Bytes of output written by jobs, per stream (running jobs' output so far included).",
      labelNames: ["stream"],
      registers,
      collect() {
        const live = pool.runningOutputBytes();
        this.reset();
        for (const stream of STREAMS) this.inc({ stream }, endedOutput[stream] + live[stream]);
      },
    });
    const requestCounts = this.requestCounts;
    new Counter({
      name: "jobworker_http_requests_total",
      help: `HTTP requests answered, by route template (never a job id; "${UNMATCHED_ROUTE}" for none) and status code.`,
      labelNames: ["route", "code"],
      registers,
      collect() {
        this.reset();
        for (const [route, byCode] of requestCounts) for (const [code, count] of byCode) this.inc({ route, code: String(code) }, count);
      },
    });
    this.handshakeFailures = new Counter({
      name: "jobworker_tls_handshake_failures_total",
      help: "TLS connections refused before any request, by reason.",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of REFUSAL_REASONS) this.handshakeFailures.inc({ reason }, 0);
    new Gauge({
      name: "jobworker_disk_full",
      help: "1 while the data disk is (nearly) full: new jobs are refused and output is cut short.",
      registers,
      collect() {
        this.set(pool.diskFull() ? 1 : 0);
      },
    });
    this.unobserve = pool.observe({ recorded: (record) => this.recorded(record), ended: (record) => this.jobEnded(record) });
  }

  /** Everything, in the Prometheus text format: the process's metrics, then the server's. */
  async text(): Promise<string> {
    const [process, server] = await Promise.all([processMetrics().metrics(), this.registry.metrics()]);
    return process.endsWith("\n") ? process + server : `${process}\n${server}`;
  }

  /** A request was answered (or its connection closed): `route` is its template, undefined when none matched. */
  requestDone(route: string | undefined, code: number): void {
    const template = route ?? UNMATCHED_ROUTE;
    let byCode = this.requestCounts.get(template);
    if (!byCode) this.requestCounts.set(template, (byCode = new Map()));
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }

  /** A TLS connection was refused before any request. */
  handshakeFailed(reason: RefusalReason): void {
    this.handshakeFailures.inc({ reason });
  }

  /** A job requested `seconds` ago is running. */
  jobStarted(seconds: number): void {
    this.startSeconds.observe(seconds);
  }

  /** Stops counting the pool's jobs (the server is closing). */
  close(): void {
    this.unobserve();
  }

  private recorded(record: JobRecord): void {
    this.started.inc();
    // Refused at once: its end is now (a running or queued one's comes later, told by `ended`).
    if (record.state !== "running" && record.state !== "queued") this.ended.inc({ outcome: jobOutcome(record) });
  }

  private jobEnded(record: JobRecord): void {
    this.ended.inc({ outcome: jobOutcome(record) });
    this.endedOutput.stdout += record.stdoutBytes;
    this.endedOutput.stderr += record.stderrBytes;
  }
}
