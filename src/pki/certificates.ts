import {
  CA_VALIDITY_DAYS,
  CLOCK_SKEW_MS,
  DAY_MS,
  DEFAULT_CA_COMMON_NAME,
  DEFAULT_SERVER_COMMON_NAME,
  DEFAULT_SERVER_HOSTS,
  LEAF_VALIDITY_DAYS,
} from "./defaults.js";
import {
  SIGNING_ALGORITHM,
  generateKeyPair,
  privateKeyFromPem,
  privateKeyToPem,
  publicSpkiOfPrivatePem,
  randomSerial,
  x509,
} from "./crypto.js";
import { PkiError } from "./errors.js";
import { parseHost } from "./names.js";

/** A CA in memory: what signs certificates and CRLs. */
export interface CertificateAuthority {
  /** The CA certificate, PEM "CERTIFICATE". */
  certPem: string;
  /** The CA private key, PKCS#8 PEM. */
  keyPem: string;
  /** The parsed certificate. */
  cert: x509.X509Certificate;
  /** The private key, imported for signing. */
  privateKey: CryptoKey;
  /** The CA's subject key identifier (hex): every issued certificate's AKI. */
  keyId: string;
  /** Serial number (hex). */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** A certificate and its fresh key, as issued by {@link issueCert}. */
export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  cert: x509.X509Certificate;
  /** Serial number (hex, lower case), what a CRL lists. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** Options of {@link createCa}. */
export interface CreateCaOptions {
  /** Subject CN; default "jobworker CA". */
  commonName?: string;
  /** Default: now minus a few minutes (clock skew). */
  notBefore?: Date;
  /** Default: notBefore + `days`. */
  notAfter?: Date;
  /** Validity in days when notAfter is not given; default 3650 (10 years). */
  days?: number;
}

/** An extended key usage by name, or any OID. */
export type ExtendedKeyUsageName = "serverAuth" | "clientAuth" | (string & {});

/** Options of {@link issueCert}. Everything beyond `kind` exists for odd test certificates. */
export interface IssueCertOptions {
  /** "server": serverAuth + SANs; "client": clientAuth + CN=<identity>. */
  kind: "server" | "client";
  /**
   * Subject CN. Default "jobworker server" for servers; required for clients unless
   * `omitCommonName`. Not validated here (tests need odd names): `issueClientCert`
   * validates.
   */
  commonName?: string;
  /** Leave the CN out of the subject (it becomes `O=jobworker`): the server must refuse such a client. */
  omitCommonName?: boolean;
  /** SANs (DNS names or IPs). Default for servers: localhost, 127.0.0.1, ::1; for clients: none. */
  hosts?: readonly string[];
  /** Default: now minus a few minutes (clock skew). */
  notBefore?: Date;
  /** Default: now + `days`. */
  notAfter?: Date;
  /** Validity in days when notAfter is not given; default 365. */
  days?: number;
  /**
   * Replaces the EKU implied by `kind` (`[]` leaves the extension out), e.g.
   * `["serverAuth"]` on a client certificate to test that the server refuses it.
   */
  extendedKeyUsages?: readonly ExtendedKeyUsageName[];
}

/**
 * Creates a self-signed root CA: ECDSA P-256, ecdsa-with-SHA256, `CA:TRUE, pathlen:0`
 * (critical), keyUsage keyCertSign + cRLSign (critical), SKI and AKI.
 */
export async function createCa(options: CreateCaOptions = {}): Promise<CertificateAuthority> {
  const { notBefore, notAfter } = validity(options, CA_VALIDITY_DAYS);
  const keys = await generateKeyPair();
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const name = new x509.Name([{ CN: [options.commonName ?? DEFAULT_CA_COMMON_NAME] }]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: name,
    issuer: name,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ski,
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  return {
    certPem: certToPem(cert),
    keyPem: await privateKeyToPem(keys.privateKey),
    cert,
    privateKey: keys.privateKey,
    keyId: ski.keyId,
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/**
 * Issues a server or client certificate signed by `ca`, with a fresh P-256 key:
 * keyUsage digitalSignature (critical), `CA:FALSE`, the EKU of its kind, SANs, SKI and
 * the CA's key id as AKI, a random 16-byte positive serial.
 */
export async function issueCert(ca: CertificateAuthority, options: IssueCertOptions): Promise<IssuedCertificate> {
  const { notBefore, notAfter } = validity(options, LEAF_VALIDITY_DAYS);
  const commonName =
    options.commonName ?? (options.kind === "server" ? DEFAULT_SERVER_COMMON_NAME : undefined);
  if (!options.omitCommonName && commonName === undefined) {
    throw new PkiError("PKI_INVALID_NAME", "a client certificate needs a commonName (its identity)");
  }
  const subject = options.omitCommonName
    ? new x509.Name([{ O: ["jobworker"] }])
    : new x509.Name([{ CN: [commonName!] }]);
  const hosts = (options.hosts ?? (options.kind === "server" ? DEFAULT_SERVER_HOSTS : [])).map(parseHost);
  const ekus = options.extendedKeyUsages ?? [options.kind === "server" ? "serverAuth" : "clientAuth"];

  const keys = await generateKeyPair();
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ski,
    new x509.AuthorityKeyIdentifierExtension(ca.keyId),
  ];
  if (ekus.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(ekus.map(ekuOid)));
  if (hosts.length > 0) {
    // Deduplicated: "--host localhost --host LOCALHOST." is one SAN.
    const seen = new Set<string>();
    const names = hosts.filter((h) => !seen.has(`${h.type}:${h.value}`) && seen.add(`${h.type}:${h.value}`));
    // Without a CN the SAN must be critical (RFC 5280 4.2.1.6).
    extensions.push(new x509.SubjectAlternativeNameExtension(names, options.omitCommonName === true));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions,
  });
  return {
    certPem: certToPem(cert),
    keyPem: await privateKeyToPem(keys.privateKey),
    cert,
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/**
 * Rebuilds a {@link CertificateAuthority} from its PEM files' contents. Throws
 * `PKI_BAD_CA` when the certificate is not a CA, or the key is not its key.
 * `source` names the files in error messages.
 */
export async function loadCa(certPem: string, keyPem: string, source = "the CA"): Promise<CertificateAuthority> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (err) {
    throw new PkiError("PKI_BAD_CA", `${source}: the CA certificate is not a readable PEM certificate`, { cause: err });
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new PkiError("PKI_BAD_CA", `${source}: the certificate is not a CA certificate`);
  let privateKey: CryptoKey;
  let spki: Buffer;
  try {
    spki = publicSpkiOfPrivatePem(keyPem);
    privateKey = await privateKeyFromPem(keyPem);
  } catch (err) {
    throw new PkiError("PKI_BAD_CA", `${source}: the CA key is not a readable P-256 private key`, { cause: err });
  }
  if (!spki.equals(Buffer.from(cert.publicKey.rawData))) {
    throw new PkiError("PKI_BAD_CA", `${source}: the CA key does not belong to the CA certificate`);
  }
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId = ski?.keyId ?? (await x509.SubjectKeyIdentifierExtension.create(cert.publicKey)).keyId;
  return {
    certPem,
    keyPem,
    cert,
    privateKey,
    keyId,
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/** A certificate as PEM with a final newline. */
export function certToPem(cert: x509.X509Certificate): string {
  return `${cert.toString("pem").trimEnd()}\n`;
}

function ekuOid(usage: ExtendedKeyUsageName): string {
  if (usage === "serverAuth") return x509.ExtendedKeyUsage.serverAuth;
  if (usage === "clientAuth") return x509.ExtendedKeyUsage.clientAuth;
  return usage;
}

/** Resolves notBefore/notAfter from explicit dates or a number of days. */
function validity(
  options: { notBefore?: Date; notAfter?: Date; days?: number },
  defaultDays: number,
): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  const days = options.days ?? defaultDays;
  if (options.notAfter === undefined && !(Number.isInteger(days) && days > 0)) {
    throw new PkiError("PKI_INVALID_VALIDITY", `invalid validity: ${days} days (give a whole number of days, at least 1)`);
  }
  const notBefore = options.notBefore ?? new Date(now - CLOCK_SKEW_MS);
  const notAfter = options.notAfter ?? new Date(now + days * DAY_MS);
  if (!(notAfter.getTime() > notBefore.getTime())) {
    throw new PkiError("PKI_INVALID_VALIDITY", "invalid validity: notAfter must be later than notBefore");
  }
  return { notBefore, notAfter };
}
