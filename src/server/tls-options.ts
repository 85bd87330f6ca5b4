import { constants as cryptoConstants } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { SecureContextOptions, TlsOptions } from "node:tls";
import { ServerConfigError } from "./config-error.js";

/** The three TLS 1.3 suites (docs/api.md, "TLS"), in the server's order of preference. */
export const TLS13_CIPHER_SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] as const;

/** Paths of the PEM files the server's TLS context is built from. */
export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A CRL of the CA; every client certificate it lists is refused. */
  crlFile?: string;
  /** Like `crlFile`, but a missing file means "no CRL" (the embedded default's `pki/crl.pem`). */
  crlFileIfExists?: string;
}

/** The contents of {@link TlsFiles}. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  crl?: Buffer;
}

/** Reads every file of `files`, failing with a message that names the missing or unreadable one. */
export async function readTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const reads = await Promise.allSettled([
    readPem(files.caFile, "CA certificate (--ca)"),
    readPem(files.certFile, "server certificate (--cert)"),
    readPem(files.keyFile, "server key (--key)"),
    files.crlFile !== undefined
      ? readPem(files.crlFile, "CRL (--crl)")
      : files.crlFileIfExists !== undefined
        ? readPem(files.crlFileIfExists, "CRL", { optional: true })
        : undefined,
  ]);
  // The first problem in the order the files are named, not whichever read failed first.
  const failed = reads.find((read) => read.status === "rejected");
  if (failed) throw failed.reason;
  const [ca, cert, key, crl] = reads.map((read) => (read as PromiseFulfilledResult<Buffer | undefined>).value);
  return { ca: ca!, cert: cert!, key: key!, ...(crl ? { crl } : {}) };
}

async function readPem(path: string, what: string, { optional = false } = {}): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (optional && code === "ENOENT") return undefined;
    if (code === "ENOENT") {
      throw new ServerConfigError(`${what} not found: ${path}`, "create it with `jobworker certs init`, or give the right path", { cause: err });
    }
    if (code === "EACCES") throw new ServerConfigError(`${what} is not readable: ${path}`, "check its permissions", { cause: err });
    throw new ServerConfigError(`cannot read the ${what} ${path}: ${(err as Error).message}`, undefined, { cause: err });
  }
}

/**
 * Validates a `--ciphers` list ("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") and
 * returns it in OpenSSL's colon form; undefined means all three suites.
 */
export function cipherSuites(list?: string): string {
  if (list === undefined || list.trim() === "") return TLS13_CIPHER_SUITES.join(":");
  const names = list.split(/[:,\s]+/).filter(Boolean);
  for (const name of names) {
    if (!(TLS13_CIPHER_SUITES as readonly string[]).includes(name)) {
      throw new ServerConfigError(`unsupported cipher suite: ${name}`, `choose among ${TLS13_CIPHER_SUITES.join(", ")}`);
    }
  }
  return names.join(":");
}

/**
 * The secure-context part of the options: what SIGHUP reloads. Node parses the PEMs
 * here, so a broken file throws (and the caller keeps the old context).
 */
export function secureContextOptions(material: TlsMaterial, ciphers?: string): SecureContextOptions {
  return {
    ca: material.ca,
    cert: material.cert,
    key: material.key,
    ...(material.crl ? { crl: material.crl } : {}),
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
    // Node takes TLS 1.3 suites (the TLS_* names) in `ciphers`; with TLS 1.3 only, they are all.
    ciphers: cipherSuites(ciphers),
    ecdhCurve: "X25519:P-256",
    // No session tickets: a resumed session would skip the certificate checks (a
    // revocation added by a reload, an expiry since), and clients here keep their
    // connections alive anyway.
    secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
  };
}

/** Options of the HTTPS server: the secure context plus mutual TLS. */
export function serverTlsOptions(material: TlsMaterial, ciphers?: string): TlsOptions {
  return {
    ...secureContextOptions(material, ciphers),
    // OpenSSL verifies the chain to `ca`, validity, the CRL and the client purpose;
    // client-identity.ts adds the clientAuth EKU and CN requirements.
    requestCert: true,
    rejectUnauthorized: true,
  };
}
