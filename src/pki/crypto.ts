// @peculiar/x509 relies on decorators' metadata: reflect-metadata must be loaded before it.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from "node:crypto";

// Node's own WebCrypto does the key generation and signing: no extra native code, and
// certificates are made in-process, never by shelling out to openssl.
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

/** ECDSA on P-256 (prime256v1), the only key type this tool makes. */
export const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;

/** ecdsa-with-SHA256, the only signature algorithm this tool uses. */
export const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;

/** Generates a fresh P-256 key pair (extractable, so the private key can be saved). */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** Exports a private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return toPem("PRIVATE KEY", der);
}

/**
 * Imports a PKCS#8 (or SEC1 "EC PRIVATE KEY") PEM P-256 key for signing. Goes through
 * node:crypto first so that both PEM flavours are accepted.
 */
export async function privateKeyFromPem(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ type: "pkcs8", format: "der" });
  return webcrypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, false, ["sign"]);
}

/** The DER SubjectPublicKeyInfo of a private key's public half (to match key and cert). */
export function publicSpkiOfPrivatePem(pem: string): Buffer {
  return createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" });
}

/**
 * A random positive serial number of exactly 16 bytes, as hex. The top bit is cleared
 * (DER integers are signed) and the next one set, so the encoding never shrinks or
 * grows by a byte: 126 bits of randomness, well above the CA/B Forum's 64.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString("hex");
}

/** Wraps DER bytes as PEM with 64-character lines and a final newline. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
