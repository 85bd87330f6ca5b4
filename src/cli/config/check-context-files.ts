// What `jobworker context add` checks before it records a context, so that a mistake is
// found when it is made rather than at the first connection: each file is readable, the
// CA file holds CA certificates, and the key is the certificate's.
import { readFile } from "node:fs/promises";
import { readFailure } from "../../client/credentials.js";
import { ConfigError } from "./errors.js";

/** The files of a context, absolute paths. */
export interface ContextFiles {
  ca: string;
  cert: string;
  key: string;
}

/**
 * Checks a context's files; throws `CONTEXT_FILE_INVALID` naming the file and what is
 * wrong with it, the first problem in the order ca, cert, key.
 */
export async function checkContextFiles(files: ContextFiles): Promise<void> {
  // The checks the server makes of its own files (src/pki/tls-checks.ts), loaded only here:
  // no other client command needs them.
  const checks = await import("../../pki/tls-checks.js");
  const [ca, cert, key] = await Promise.all([
    read(files.ca, "CA certificate", "--ca"),
    read(files.cert, "client certificate", "--cert"),
    read(files.key, "client key", "--key"),
  ]);

  const cas = parse(() => checks.parseCertificates(ca), files.ca, "CA certificate", "--ca");
  const notCa = cas.find((c) => !checks.isCaCertificate(c));
  if (notCa) {
    throw new ConfigError("CONTEXT_FILE_INVALID", `the CA certificate ${files.ca} is not a CA certificate (${notCa.subject.replace(/\n/g, ", ")} has no basicConstraints CA:TRUE)`, {
      hint: "pass with --ca the CA that signed the server's certificate, the server's pki/ca.pem",
    });
  }
  const leaf = parse(() => checks.parseCertificates(cert), files.cert, "client certificate", "--cert")[0]!;
  let privateKey;
  try {
    privateKey = checks.parsePrivateKey(key);
  } catch (err) {
    throw unusable(files.key, "client key", "--key", "it is not a PEM private key", err);
  }
  if (!checks.keyMatchesCertificate(leaf, privateKey)) {
    throw new ConfigError("CONTEXT_FILE_INVALID", `the key ${files.key} does not belong to the certificate ${files.cert}`, {
      hint: "pass the key issued with that certificate: pki/clients/NAME.pem and NAME.key go together",
    });
  }
}

async function read(path: string, what: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ConfigError("CONTEXT_FILE_INVALID", `cannot read the ${what} ${path}: ${readFailure(err)}`, { hint: `pass the right file with ${flag}`, cause: err });
  }
}

function parse<T>(parseFile: () => T[], path: string, what: string, flag: string): T[] {
  let parsed: T[];
  try {
    parsed = parseFile();
  } catch (err) {
    throw unusable(path, what, flag, "it holds something that is not a certificate", err);
  }
  if (parsed.length === 0) throw unusable(path, what, flag, "it holds no PEM certificate");
  return parsed;
}

function unusable(path: string, what: string, flag: string, why: string, cause?: unknown): ConfigError {
  return new ConfigError("CONTEXT_FILE_INVALID", `the ${what} ${path} is not usable: ${why}`, { hint: `pass the right file with ${flag}`, cause });
}
