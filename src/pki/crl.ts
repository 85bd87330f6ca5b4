import { SIGNING_ALGORITHM, toPem, x509 } from "./crypto.js";
import type { CertificateAuthority } from "./certificates.js";
import { PkiError } from "./errors.js";

/** One revoked certificate in a CRL. */
export interface RevokedEntry {
  /** Serial number, hex. */
  serial: string;
  /** When it was revoked; default: now. */
  revokedAt?: Date;
}

/** Options of {@link createCrl}. */
export interface CreateCrlOptions {
  /** The CRL number (a counter that increases with each CRL); default 1. */
  number?: number;
  /** Default: now. */
  thisUpdate?: Date;
  /**
   * Default: the CA's notAfter. OpenSSL (and so Node's tls `crl` option) rejects every
   * certificate once a CRL's nextUpdate has passed; a jobworker CRL is a local file the
   * server reads, not something fetched and cached, so it is made to last as long as
   * the CA rather than to expire and lock everyone out.
   */
  nextUpdate?: Date;
}

/** The parsed content of a CRL that matters for re-issuing it. */
export interface CrlContent {
  number: number;
  entries: Required<RevokedEntry>[];
}

const CRL_NUMBER_OID = "2.5.29.20";

/**
 * Makes a CRL (PEM "X509 CRL", v2, ecdsa-with-SHA256) signed by `ca`, listing
 * `revoked` (serials as hex strings, or entries with dates), with the CA's AKI and a
 * CRL number. An empty list makes a valid empty CRL.
 */
export async function createCrl(
  ca: CertificateAuthority,
  revoked: readonly (string | RevokedEntry)[],
  options: CreateCrlOptions = {},
): Promise<string> {
  const seen = new Set<string>();
  const entries: x509.X509CrlEntryParams[] = [];
  for (const item of revoked) {
    const entry = typeof item === "string" ? { serial: item } : item;
    const serial = normalizeSerial(entry.serial);
    if (seen.has(serial)) continue;
    seen.add(serial);
    entries.push({ serialNumber: serial, revocationDate: entry.revokedAt ?? new Date() });
  }
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: options.thisUpdate ?? new Date(),
    nextUpdate: options.nextUpdate ?? ca.notAfter,
    signingKey: ca.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    entries,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(ca.keyId),
      new x509.Extension(CRL_NUMBER_OID, false, derInteger(options.number ?? 1)),
    ],
  });
  // The library labels its PEM "CRL"; OpenSSL (and so Node's tls `crl` option) only
  // reads the standard "X509 CRL" label.
  return toPem("X509 CRL", new Uint8Array(crl.rawData));
}

/**
 * Reads a CRL made for `ca`: its number and entries. Throws `PKI_BAD_CA` when it is not
 * a CRL or not signed by this CA (e.g. left over from a replaced CA).
 */
export async function readCrl(pem: string, ca: CertificateAuthority, source = "the CRL"): Promise<CrlContent> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(pem);
  } catch (err) {
    throw new PkiError("PKI_BAD_CA", `${source} is not a readable CRL`, { cause: err });
  }
  if (!(await crl.verify({ publicKey: ca.cert }))) {
    throw new PkiError("PKI_BAD_CA", `${source} is not signed by this CA`);
  }
  const numberExt = crl.getExtension(CRL_NUMBER_OID);
  return {
    number: numberExt ? readDerInteger(new Uint8Array(numberExt.value)) : 0,
    entries: crl.entries.map((e) => ({ serial: normalizeSerial(e.serialNumber), revokedAt: e.revocationDate })),
  };
}

/** Serials compare as lower-case hex without leading zero bytes. */
export function normalizeSerial(serial: string): string {
  const hex = serial.toLowerCase().replace(/[^0-9a-f]/g, "");
  if (hex.length === 0) throw new PkiError("PKI_BAD_CERT", `invalid serial number ${JSON.stringify(serial)}`);
  const even = hex.length % 2 ? `0${hex}` : hex;
  return even.replace(/^(00)+(?=..)/, "");
}

/** DER encoding of a non-negative integer (small: a CRL number). */
function derInteger(value: number): Uint8Array<ArrayBuffer> {
  const bytes: number[] = [];
  let v = Math.max(0, Math.floor(value));
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return Uint8Array.from([0x02, bytes.length, ...bytes]);
}

function readDerInteger(der: Uint8Array): number {
  if (der[0] !== 0x02 || der.length < 3 || der[1]! > 6) return 0;
  let v = 0;
  for (const b of der.subarray(2, 2 + der[1]!)) v = v * 256 + b;
  return v;
}
