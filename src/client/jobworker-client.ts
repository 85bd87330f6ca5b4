import { X509Certificate } from "node:crypto";
import type { ClientRequest, IncomingMessage } from "node:http";
import { Agent, request as httpsRequest, type RequestOptions } from "node:https";
import { Readable } from "node:stream";
import type { SecureContext, TLSSocket } from "node:tls";
import { DEFAULT_PORT } from "../protocol/default-port.js";
import { ClientError } from "./errors.js";
import { httpError } from "./http-errors.js";
import { clientTlsContext } from "./tls-context.js";
import { toClientError, type ErrorContext } from "./transport-errors.js";
import type { JobOutput, JobPage, JobRecord, JobSpec, JobStatus, LogChunk, LogOptions, OwnerOptions, PageOptions, StreamName, StreamOptions } from "./types.js";

/** How to reach and authenticate to a jobworker server. */
export interface JobworkerClientOptions {
  /** The server, e.g. "https://127.0.0.1:8443". Must be https. */
  url: string;
  /** PEM of the CA that signed the server's certificate (the only CA trusted). */
  ca: string | Buffer;
  /** PEM of our client certificate: its CN is the identity that owns our jobs. */
  cert: string | Buffer;
  /** PEM of our private key. */
  key: string | Buffer;
  /** TLS server name to verify instead of the URL's host. */
  servername?: string;
  /** For error messages: where `cert` and `ca` came from (file paths). */
  labels?: { cert?: string; ca?: string };
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

interface SendOptions {
  body?: unknown;
  /** Names the job in a 404's "no such job" message. */
  jobId?: string;
  /** Long-lived response (follow): no idle timeout. */
  longLived?: boolean;
  signal?: AbortSignal;
  /** A streamed request body (application/octet-stream, chunked). */
  stream?: Readable;
}

type Method = "GET" | "PUT" | "POST" | "DELETE";

/** How long an answer may stay silent before the request fails (follow streams excepted). */
const RESPONSE_IDLE_TIMEOUT_MS = 300_000;

/**
 * A typed client of the jobworker HTTP API over mutual TLS 1.3 (docs/api.md).
 * Every method fails with a {@link ClientError} whose `code` says what went wrong.
 * Holds a connection pool: call {@link close} when done.
 *
 * ```ts
 * const client = new JobworkerClient({ url, ca, cert, key });
 * const id = await client.create({ cmd: "ls", args: ["-la"] });
 * (await client.stream(id, "stdout", { follow: true })).pipe(process.stdout);
 * ```
 */
export class JobworkerClient {
  /** The server URL, normalized (no trailing slash). */
  readonly url: string;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #host: string;
  readonly #port: number;
  readonly #options: JobworkerClientOptions;
  readonly #agent: Agent;
  readonly #ctx: ErrorContext;
  #secureContext: SecureContext | undefined;
  /** Requests not yet closed: close() waits for them, destroy() ends them. */
  readonly #inFlight = new Set<ClientRequest>();

  constructor(options: JobworkerClientOptions) {
    const parsed = parseServerUrl(options.url);
    this.#origin = parsed.origin;
    this.#basePath = parsed.pathname.replace(/\/+$/, "");
    this.url = this.#origin + this.#basePath;
    this.#ctx = { url: this.url, certLabel: options.labels?.cert, caLabel: options.labels?.ca, credentials: { cert: options.cert, ca: options.ca } };
    this.#host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
    this.#port = parsed.port === "" ? 443 : Number(parsed.port);
    this.#options = options;
    // Node's own https, not undici: a CLI command makes one to four requests, and
    // loading undici (with its WebAssembly HTTP parser, which Node waits to finish
    // compiling at exit) cost more than the whole request. Keep-alive, so that `run`'s
    // requests share connections; any number of sockets, since it follows stdout and
    // stderr at once on two long-lived requests.
    this.#agent = new Agent({ keepAlive: true });
  }

  /** `PUT /jobs`: starts a job, resolves to its id. A command that cannot start still gets an id (status `error`). */
  async create(spec: JobSpec): Promise<string> {
    return (await this.submit(spec)).id;
  }

  /** `PUT /jobs`, with all it answers: the id, and for a job that waits for a slot its place in the queue. */
  async submit(spec: JobSpec): Promise<{ id: string; queuePosition?: number }> {
    const res = await this.#json<{ id?: unknown; queue_position?: unknown }>("PUT", "/jobs", { body: spec });
    if (typeof res.id !== "string") throw this.#unexpected("PUT /jobs");
    return { id: res.id, ...(typeof res.queue_position === "number" && { queuePosition: res.queue_position }) };
  }

  /**
   * `GET /jobs/<id>/status`. With `waitSeconds`, a long poll: the answer comes once the
   * job has ended, or after that many seconds (at most 300) with the job still running.
   */
  status(id: string, options: { waitSeconds?: number } = {}): Promise<JobStatus> {
    const query = options.waitSeconds ? `?wait=${Math.min(300, Math.max(0, Math.ceil(options.waitSeconds)))}` : "";
    // A long poll may be silent for its whole wait: no idle deadline then.
    return this.#json<JobStatus>("GET", `/jobs/${enc(id)}/status${query}`, { jobId: id, longLived: query !== "" });
  }

  /** `GET /jobs/<id>`: the job's full record. */
  get(id: string): Promise<JobRecord> {
    return this.#json<JobRecord>("GET", `/jobs/${enc(id)}`, { jobId: id });
  }

  /** `GET /jobs?limit=&cursor=&owner=&status=&label=`: one page of this identity's jobs (or, for an admin, `owner`'s), newest first. */
  async listPage(options: PageOptions = {}): Promise<JobPage> {
    const query = new URLSearchParams();
    if (options.owner !== undefined) query.set("owner", options.owner);
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    if (options.cursor !== undefined) query.set("cursor", options.cursor);
    if (options.status !== undefined) query.set("status", options.status);
    for (const [key, value] of Object.entries(options.labels ?? {})) query.append("label", `${key}=${value}`);
    const path = query.size > 0 ? `/jobs?${query}` : "/jobs";
    const res = await this.#json<{ jobs?: unknown; next_cursor?: unknown }>("GET", path);
    if (!Array.isArray(res.jobs) || (res.next_cursor !== undefined && typeof res.next_cursor !== "string")) {
      throw this.#unexpected("GET /jobs");
    }
    return { jobs: res.jobs as JobRecord[], ...(res.next_cursor !== undefined && { next_cursor: res.next_cursor }) };
  }

  /** All of this identity's jobs (or, for an admin, `owner`'s), newest first, page after page. */
  async list(options: OwnerOptions = {}): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.listPage({ ...options, limit: 1000, ...(cursor !== undefined && { cursor }) });
      jobs.push(...page.jobs);
      cursor = page.next_cursor;
    } while (cursor !== undefined);
    return jobs;
  }

  /** `GET /jobs/<id>/output`: both streams as UTF-8 text. For exact bytes use {@link stream}. */
  output(id: string): Promise<JobOutput> {
    return this.#json<JobOutput>("GET", `/jobs/${enc(id)}/output`, { jobId: id });
  }

  /** `POST /jobs/<id>/stop`: terminates the job's process tree; resolves once it has ended. */
  async stop(id: string): Promise<void> {
    await this.#text("POST", `/jobs/${enc(id)}/stop`, { jobId: id });
  }

  /** `POST /jobs/<id>/signal`: one signal (a name such as "SIGUSR1") to the running job, as kill(1) sends it. */
  async signal(id: string, signal: string): Promise<void> {
    await this.#text("POST", `/jobs/${enc(id)}/signal`, { jobId: id, body: { signal } });
  }

  /**
   * `PUT /jobs/<id>/stdin`: streams `input` into the stdin of a job started with
   * `stdin: true`; its end closes the job's stdin. Backpressure reaches `input`: a job
   * that does not read holds it. Resolves once the server has written everything.
   */
  async sendStdin(id: string, input: Readable): Promise<void> {
    await this.#text("PUT", `/jobs/${enc(id)}/stdin`, { jobId: id, stream: input, longLived: true });
  }

  /** `DELETE /jobs/<id>`: stops the job if running and removes its record and output. */
  async delete(id: string): Promise<void> {
    await this.#text("DELETE", `/jobs/${enc(id)}`, { jobId: id });
  }

  /**
   * `GET /jobs/<id>/stdout|stderr`: the exact bytes of one output stream, as a Readable
   * of Buffers (also an async iterable). Resolves once the server accepted the request,
   * so an unknown id fails here; later failures arrive as a ClientError on the stream.
   * With `follow` the stream stays open until the job has ended and every byte is in.
   * Destroying the stream closes the request.
   */
  async stream(id: string, which: StreamName, options: StreamOptions & { signal?: AbortSignal } = {}): Promise<Readable> {
    if (which !== "stdout" && which !== "stderr") throw new TypeError(`stream must be "stdout" or "stderr", not ${String(which)}`);
    const query = outputQuery(options);
    if (options.offset) query.set("offset", String(options.offset));
    if (options.timestamps) query.set("timestamps", "true");
    return this.#body(`/jobs/${enc(id)}/${which}`, query, id, options);
  }

  /**
   * `GET /jobs/<id>/log`: both streams as {@link LogChunk}s in the order the server
   * captured them, as an object-mode Readable (also an async iterable). Parsed line by
   * line as it arrives: memory stays bounded whatever the output's size.
   */
  async log(id: string, options: LogOptions & { signal?: AbortSignal } = {}): Promise<Readable> {
    const body = await this.#body(`/jobs/${enc(id)}/log`, outputQuery(options), id, options);
    const unexpected = () => this.#unexpected(`GET /jobs/${id}/log`);
    async function* chunks(): AsyncGenerator<LogChunk> {
      try {
        for await (const line of ndjsonLines(body)) {
          const value = JSON.parse(line) as { stream?: unknown; time?: unknown; data?: unknown };
          if ((value.stream !== "stdout" && value.stream !== "stderr") || typeof value.time !== "string" || typeof value.data !== "string") throw unexpected();
          yield { stream: value.stream, time: value.time, data: Buffer.from(value.data, "base64") };
        }
      } catch (err) {
        throw err instanceof ClientError ? err : unexpected();
      } finally {
        body.destroy();
      }
    }
    return Readable.from(chunks(), { objectMode: true, highWaterMark: 4 });
  }

  /** A GET whose answer is streamed: resolves once accepted, then its bytes as a Readable. */
  async #body(path: string, query: URLSearchParams, id: string, options: { follow?: boolean; signal?: AbortSignal }): Promise<Readable> {
    const qs = query.size > 0 ? `?${query}` : "";
    const res = await this.#send("GET", `${path}${qs}`, {
      jobId: id,
      longLived: options.follow === true,
      signal: options.signal,
    });
    const ctx = { ...this.#ctx, responseStarted: true };
    const whyLost = (lost: ClientError) => this.#whyLost(lost);
    // Re-raise body errors as ClientErrors (a dropped connection mid-stream is
    // CONNECTION_LOST, not a bare ECONNRESET). Readable.from keeps backpressure, and
    // destroying it returns the generator, which destroys the response.
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of res) yield chunk as Buffer;
      } catch (err) {
        const mapped = toClientError(err, ctx);
        // Our own abort is not the server's doing: nothing to find out.
        throw options.signal?.aborted ? mapped : await whyLost(mapped);
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  /**
   * Our identity: the subject CN of our client certificate, read as the server reads it
   * (undefined when the certificate has none, or several).
   */
  identity(): string | undefined {
    const cn: unknown = new X509Certificate(this.#options.cert).toLegacyObject().subject?.CN;
    return typeof cn === "string" ? cn : undefined;
  }

  /** Closes the connection pool; in-flight requests finish first. */
  async close(): Promise<void> {
    await Promise.all([...this.#inFlight].map((req) => new Promise((done) => req.once("close", done))));
    this.#agent.destroy();
  }

  /** Closes every connection now, aborting requests and streams still open. */
  async destroy(): Promise<void> {
    for (const req of this.#inFlight) req.destroy(Object.assign(new Error("the client was closed"), { code: "ERR_CLIENT_DESTROYED" }));
    this.#agent.destroy();
  }

  async #json<T>(method: Method, path: string, options: SendOptions = {}): Promise<T> {
    const text = await this.#text(method, path, options);
    try {
      const value = JSON.parse(text) as unknown;
      if (value === null || typeof value !== "object") throw new Error("not an object");
      return value as T;
    } catch {
      throw this.#unexpected(`${method} ${path}`);
    }
  }

  async #text(method: Method, path: string, options: SendOptions): Promise<string> {
    return readText(await this.#send(method, path, options), { ...this.#ctx, responseStarted: true });
  }

  /**
   * Why an accepted connection was cut: the server closes those of a client whose
   * certificate it has just revoked (src/server/revocation.ts) just as it closes every
   * connection when it stops. One fresh handshake tells them apart: refused, it is our
   * certificate (the refusal's diagnosis says revoked); otherwise the connection was lost.
   */
  async #whyLost(lost: ClientError): Promise<ClientError> {
    if (lost.code !== "CONNECTION_LOST") return lost;
    // A server that is stopping may accept one last connection and then drop it, which
    // looks exactly like a refusal: only a refusal that a second handshake repeats is
    // our certificate's (a stopped server refuses the connection itself by then).
    const first = await this.#probe();
    const refused = first && (await this.#probe());
    if (!refused) return lost;
    return new ClientError("CERT_REJECTED", `${lost.message}, and ${refused.message.replace(/^the server at \S+ refused/, "the server now refuses")}`, { ...(refused.hint !== undefined && { hint: refused.hint }), cause: lost });
  }

  /** One fresh request that needs nothing but a handshake: the refusal of our certificate, if that is how it ends. */
  async #probe(): Promise<ClientError | undefined> {
    try {
      (await this.#send("GET", "/healthz", {})).resume();
      return undefined;
    } catch (err) {
      return err instanceof ClientError && err.code === "CERT_REJECTED" ? err : undefined;
    }
  }

  async #send(method: Method, path: string, options: SendOptions): Promise<IncomingMessage> {
    let res: IncomingMessage;
    try {
      res = await this.#request(method, path, options);
    } catch (err) {
      // A keep-alive connection the server closed while idle fails the next request at
      // once; a GET is safe to send again on a fresh one (the way Node's docs advise).
      if (method !== "GET" || !(err as { reusedSocket?: boolean }).reusedSocket) throw toClientError(err, this.#ctx);
      try {
        res = await this.#request(method, path, options);
      } catch (again) {
        throw toClientError(again, this.#ctx);
      }
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const body = await readText(res, { ...this.#ctx, responseStarted: true }).catch(() => "");
    throw httpError(status, body, this.url, options.jobId);
  }

  /**
   * One request; resolves with the response once its headers are in. A failure before
   * that rejects with the raw error, marked `reusedSocket` when it happened on a
   * connection an earlier request had used (then the server had accepted us).
   */
  #request(method: Method, path: string, options: SendOptions): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      let secureContext: SecureContext;
      try {
        secureContext = this.#tlsContext();
      } catch (err) {
        reject(
          new ClientError("CERT_FILE_INVALID", `the client certificate, key or CA given to the client is not usable: ${(err as Error).message}`, {
            hint: "pass PEM files, and a key that belongs to the certificate",
            cause: err,
          }),
        );
        return;
      }
      const body = options.body === undefined ? undefined : JSON.stringify(options.body);
      // `secureContext` reaches tls.connect through the agent; @types/node leaves it out.
      const requestOptions: RequestOptions & { secureContext: SecureContext } = {
        host: this.#host,
        port: this.#port,
        path: this.#basePath + path,
        method,
        agent: this.#agent,
        secureContext,
        ...(this.#options.servername ? { servername: this.#options.servername } : {}),
        headers: options.stream
          ? { "content-type": "application/octet-stream" }
          : body === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        ...(options.signal ? { signal: options.signal } : {}),
      };
      const req = httpsRequest(requestOptions);
      this.#inFlight.add(req);
      req.once("close", () => this.#inFlight.delete(req));
      req.once("response", resolve);
      // `on`, not `once`: a request may report a second error (its socket failing after
      // the first), and an 'error' nobody listens to would crash the process.
      req.on("error", (err: Error) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
      req.once("socket", (socket: TLSSocket) => {
        if (req.reusedSocket) return;
        // Connecting (TCP and TLS) has its own deadline: an address that drops packets
        // must not hang a command.
        const timer = setTimeout(() => {
          req.destroy(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" }));
        }, this.#options.connectTimeoutMs ?? 10_000);
        const done = () => clearTimeout(timer);
        socket.once("secureConnect", done);
        req.once("close", done);
      });
      // Idle deadline for ordinary answers; none for follow streams, which may be silent
      // as long as the job is.
      req.setTimeout(options.longLived ? 0 : RESPONSE_IDLE_TIMEOUT_MS, () => {
        req.destroy(Object.assign(new Error("the server stopped answering"), { code: "ERR_RESPONSE_TIMEOUT" }));
      });
      if (options.stream) {
        const input = options.stream;
        input.once("error", (err) => req.destroy(err));
        input.pipe(req);
      } else {
        req.end(body);
      }
    });
  }

  /** One TLS context for every connection, made on first use (parsing the PEMs once). */
  #tlsContext(): SecureContext {
    this.#secureContext ??= clientTlsContext(this.#options.ca, this.#options.cert, this.#options.key);
    return this.#secureContext;
  }

  #unexpected(what: string): ClientError {
    return new ClientError("SERVER_ERROR", `the server at ${this.url} gave an unexpected answer to ${what}`, {
      hint: "is --server the address of `jobworker serve`?",
    });
  }
}

/** Reads a whole response as UTF-8 text, failures as ClientErrors. */
async function readText(res: IncomingMessage, ctx: ErrorContext): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer);
  } catch (err) {
    throw toClientError(err, ctx);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** `follow`, `tail` and `since`, as the output endpoints take them. */
function outputQuery(options: LogOptions): URLSearchParams {
  const query = new URLSearchParams();
  if (options.follow) query.set("follow", "true");
  if (options.tail !== undefined) query.set("tail", String(options.tail));
  if (options.since !== undefined) query.set("since", options.since instanceof Date ? options.since.toISOString() : options.since);
  return query;
}

/** A byte stream's lines (without their newlines); one line at a time in memory. */
async function* ndjsonLines(body: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let partial = "";
  for await (const chunk of body) {
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop()!;
    for (const line of lines) if (line) yield line;
  }
  if (partial) yield partial;
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

/**
 * Parses and checks a server URL: https only. A bare "host:port" gets "https://"
 * prepended, since people type that.
 */
export function parseServerUrl(url: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`;
  // No port means jobworker's, where `serve` listens, not HTTPS's 443 (which URL drops
  // when given: an explicit ":443" is kept by this test of the text itself).
  const portGiven = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):\d/i.test(withScheme);
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new ClientError("INVALID_SERVER_URL", `not a server URL: ${url}`, { hint: "use https://HOST:PORT" });
  }
  if (parsed.protocol !== "https:") {
    throw new ClientError("INVALID_SERVER_URL", `the server URL must be https: ${url}`, {
      hint: "jobworker speaks HTTPS with client certificates only; use https://HOST:PORT",
    });
  }
  if (!portGiven) parsed.port = String(DEFAULT_PORT);
  return parsed;
}
