import { readFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { ClientError } from "./errors.js";
import { clientTlsContext } from "./tls-context.js";

/** Where the client's TLS material lives. */
export interface CredentialFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** The PEM contents of {@link CredentialFiles}. */
export interface Credentials {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads and checks the CA, certificate and key files. Fails with `CERT_FILE_UNREADABLE`
 * (missing, permission denied) or `CERT_FILE_INVALID` (not PEM, key does not belong to
 * the certificate), naming the file, before any connection is tried: a bad file is
 * then reported as such instead of as a confusing handshake failure.
 */
export async function loadCredentials(files: CredentialFiles): Promise<Credentials> {
  const reads = await Promise.allSettled([
    readPem(files.caFile, "CA certificate", "--ca or JOBWORKER_CA", MISSING_CA),
    readPem(files.certFile, "client certificate", "--cert or JOBWORKER_CERT", MISSING_CLIENT_FILE),
    readPem(files.keyFile, "client key", "--key or JOBWORKER_KEY", MISSING_CLIENT_FILE),
  ]);
  // The first problem in the order the files are named, not whichever read failed first.
  const failed = reads.find((read) => read.status === "rejected");
  if (failed) throw failed.reason;
  const [ca, cert, key] = reads.map((read) => (read as PromiseFulfilledResult<Awaited<ReturnType<typeof readPem>>>).value);
  try {
    new X509Certificate(ca);
  } catch (err) {
    throw invalid(files.caFile, "CA certificate", "--ca", err);
  }
  try {
    // The context the client will use (kept for it): one parse when all is well.
    clientTlsContext(ca, cert, key);
  } catch (err) {
    // Something is wrong: find which file, for the message.
    try {
      createSecureContext({ cert });
    } catch (certErr) {
      throw invalid(files.certFile, "client certificate", "--cert", certErr);
    }
    try {
      createSecureContext({ key });
    } catch (keyErr) {
      throw invalid(files.keyFile, "client key", "--key", keyErr);
    }
    throw new ClientError("CERT_FILE_INVALID", `the key ${files.keyFile} does not belong to the certificate ${files.certFile}`, {
      hint: "pass the matching pair with --cert and --key",
      cause: err,
    });
  }
  return { ca, cert, key };
}

// What to do about a missing file. A client machine gets its files from the server:
// `certs init` here would make a new CA that the server does not trust.
const MISSING_CA = (flag: string) =>
  `copy the server's ca.pem (pki/ca.pem in its home; \`jobworker serve\` creates it on first start) to this path, or pass ${flag}`;
const MISSING_CLIENT_FILE = (flag: string) =>
  `\`jobworker certs issue NAME\` on the server makes a client certificate and key (pki/clients/NAME.pem, NAME.key): copy them here, or pass ${flag}`;

async function readPem(path: string, what: string, flag: string, missing: (flag: string) => string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ClientError("CERT_FILE_UNREADABLE", `cannot read the ${what} ${path}: ${readFailure(err)}`, {
      hint: code === "ENOENT" ? missing(flag) : `check the file, or pass ${flag}`,
      cause: err,
    });
  }
}

/** Why a file could not be read, in a few words ("no such file", "permission denied"). */
export function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  if (code === "ENOTDIR") return "a part of the path is not a directory";
  return (err as Error).message;
}

function invalid(path: string, what: string, flag: string, cause: unknown): ClientError {
  return new ClientError("CERT_FILE_INVALID", `the ${what} ${path} is not a usable PEM file`, {
    hint: `pass the right file with ${flag}`,
    cause,
  });
}
