// Shared set-up of the server tests: a throwaway PKI on disk, a running server on
// 127.0.0.1 port 0, and undici clients holding a given identity's certificate.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { createCa, createCrl, issueCert, type CertificateAuthority, type IssuedCertificate } from "../../src/pki/index.js";
import type { PoolOptions } from "../../src/engine/index.js";
import { startServer, type RunningServer, type ServerOptions } from "../../src/server/index.js";

/** A client certificate and key, in memory and on disk (for curl and openssl). */
export interface ClientCreds {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  serial: string;
}

export interface Pki {
  dir: string;
  ca: CertificateAuthority;
  caFile: string;
  certFile: string;
  keyFile: string;
  server: IssuedCertificate;
  /** Writes a certificate made by `make` (default: a clientAuth cert with CN=name) to disk. */
  client(name: string, make?: () => Promise<IssuedCertificate>): Promise<ClientCreds>;
  /** Writes a CRL revoking `serials` and returns its path. */
  writeCrl(serials: string[]): Promise<string>;
}

/** A fresh CA, a server certificate for 127.0.0.1/localhost/::1, in a temp dir. */
export async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), "jobworker-server-test-"));
  const ca = await createCa();
  const server = await issueCert(ca, { kind: "server" });
  const caFile = join(dir, "ca.pem");
  const certFile = join(dir, "server.pem");
  const keyFile = join(dir, "server.key");
  await Promise.all([writeFile(caFile, ca.certPem), writeFile(certFile, server.certPem), writeFile(keyFile, server.keyPem, { mode: 0o600 })]);
  return {
    dir,
    ca,
    caFile,
    certFile,
    keyFile,
    server,
    async client(name, make) {
      const issued = await (make ? make() : issueCert(ca, { kind: "client", commonName: name }));
      const certFile = join(dir, `${name}.pem`);
      const keyFile = join(dir, `${name}.key`);
      await writeFile(certFile, issued.certPem);
      await writeFile(keyFile, issued.keyPem, { mode: 0o600 });
      return { certPem: issued.certPem, keyPem: issued.keyPem, certFile, keyFile, serial: issued.serial };
    },
    async writeCrl(serials) {
      const path = join(dir, "crl.pem");
      await writeFile(path, await createCrl(ca, serials));
      return path;
    },
  };
}

/** A running server over a fresh PKI, with alice and bob as clients. */
export interface Harness {
  pki: Pki;
  server: RunningServer;
  dataDir: string;
  alice: ClientCreds;
  bob: ClientCreds;
  /** Audit lines written so far (when the harness captures them). */
  audit: string[];
  close(): Promise<void>;
}

/** Options of {@link startHarness}: the server's, with `pool` the options of the pool it opens, over the harness's. */
export type HarnessOptions = Partial<Omit<ServerOptions, "pool">> & { pool?: Partial<PoolOptions> };

export async function startHarness({ pool: poolOptions, ...options }: HarnessOptions = {}): Promise<Harness> {
  const pki = await makePki();
  const [alice, bob] = await Promise.all([pki.client("alice"), pki.client("bob")]);
  const dataDir = poolOptions?.dataDir ?? join(pki.dir, "data");
  const audit: string[] = [];
  const { Writable } = await import("node:stream");
  const auditLog = new Writable({
    write(chunk: Buffer, _enc, done) {
      audit.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  const server = await startServer({
    caFile: pki.caFile,
    certFile: pki.certFile,
    keyFile: pki.keyFile,
    // Jobs here read gate files under the host's /tmp, which isolation makes private;
    // test/server/isolation-api.test.ts asks for an isolating server.
    pool: { stopGraceMs: 1000, isolation: false, ...poolOptions, dataDir },
    auditLog,
    log: () => {},
    ...options,
  });
  const agents: Agent[] = [];
  return {
    pki,
    server,
    dataDir,
    alice,
    bob,
    audit,
    async close() {
      await Promise.all(agents.map((a) => a.close()));
      await server.close();
      await rm(pki.dir, { recursive: true, force: true });
    },
  };
}

/** An undici dispatcher presenting `creds` and trusting `caPem`. */
export function agentFor(caPem: string, creds?: { certPem: string; keyPem: string }): Agent {
  return new Agent({
    connect: { ca: caPem, ...(creds ? { cert: creds.certPem, key: creds.keyPem } : {}), servername: "localhost" },
  });
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed body, or undefined when empty / not JSON. */
  json: any;
}

/** One request through undici; the whole body read as text. */
export async function call(
  agent: Agent,
  url: string,
  method: "GET" | "PUT" | "POST" | "DELETE" | "PATCH" | "HEAD" = "GET",
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const hasBody = body !== undefined;
  const res = await request(url, {
    dispatcher: agent,
    method,
    headers: hasBody && typeof body !== "string" && !Buffer.isBuffer(body) ? { "content-type": "application/json", ...headers } : headers,
    ...(hasBody ? { body: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Waits (through the API) until a job has ended, and returns its status. */
export async function waitEnded(agent: Agent, base: string, id: string): Promise<any> {
  // A follow stream ends when the job has ended: no polling needed.
  const res = await request(`${base}/jobs/${id}/stdout?follow=true`, { dispatcher: agent });
  for await (const _chunk of res.body); // read to the end (dump() would stop at 128 KiB)
  const answer = await call(agent, `${base}/jobs/${id}/status`);
  if (answer.json?.status === "running") throw new Error(`job ${id} still runs after its output ended`);
  return answer.json;
}

/** A harness with an agent for each of alice and bob, as a suite's `before` and `after` make and close them. */
export interface HarnessWithClients {
  h: Harness;
  alice: Agent;
  bob: Agent;
}

/**
 * Registers `before` and `after` hooks in the calling suite that start a harness (with
 * `options`) and an agent for alice and for bob, and close them; the returned object is
 * filled in by `before`.
 */
export function harnessWithClients(options: HarnessOptions, hooks: { before: (fn: () => Promise<void>) => void; after: (fn: () => Promise<void>) => void }): HarnessWithClients {
  const world = {} as HarnessWithClients;
  hooks.before(async () => {
    world.h = await startHarness(options);
    world.alice = agentFor(world.h.pki.ca.certPem, world.h.alice);
    world.bob = agentFor(world.h.pki.ca.certPem, world.h.bob);
  });
  hooks.after(async () => {
    await Promise.all([world.alice?.close(), world.bob?.close()]);
    await world.h?.close();
  });
  return world;
}
