import type { TLSSocket } from "node:tls";
import type { Refusal } from "./handshake-refusal.js";

/** OID of the clientAuth extended key usage. */
export const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";

/** Longest identity accepted (the PKI issues at most 64 characters). */
const MAX_IDENTITY_LENGTH = 256;

const identities = new WeakMap<TLSSocket, string>();

/** Why a verified client certificate is still refused, or undefined when it is fine. */
export type IdentityCheck = { identity: string } | { refused: Refusal };

/**
 * Checks what OpenSSL does not: the certificate carries the clientAuth EKU (an absent
 * EKU extension, which RFC 5280 reads as "any use", is refused too) and a subject CN,
 * exactly one, that makes a sane identity (no control characters).
 */
export function checkClientCertificate(socket: TLSSocket): IdentityCheck {
  if (!socket.authorized) return { refused: { reason: "certificate_refused", message: `certificate not verified: ${String(socket.authorizationError ?? "none sent")}` } };
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return { refused: { reason: "no_certificate", message: "no client certificate" } };
  const ekus = cert.ext_key_usage ?? [];
  if (!ekus.includes(CLIENT_AUTH_OID)) return { refused: { reason: "no_client_auth", message: "certificate lacks the clientAuth extended key usage" } };
  const cn: unknown = cert.subject?.CN;
  if (typeof cn !== "string") return { refused: cn === undefined ? { reason: "no_cn", message: "certificate has no subject CN" } : { reason: "invalid_cn", message: "certificate has several subject CNs" } };
  if (!isValidIdentity(cn)) return { refused: { reason: "invalid_cn", message: "certificate subject CN is not a valid identity" } };
  return { identity: cn };
}

/**
 * Whether `name` can be an identity at all: 1 to 256 characters, no control characters.
 * The admin list (src/server/admins.ts) holds names by the same rule.
 */
export function isValidIdentity(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name.length > 0 && name.length <= MAX_IDENTITY_LENGTH && !/[\u0000-\u001f\u007f]/.test(name);
}

/** Records the identity of an accepted connection. */
export function setIdentity(socket: TLSSocket, identity: string): void {
  identities.set(socket, identity);
}

/** The identity of a connection, if it was accepted by {@link checkClientCertificate}. */
export function identityOf(socket: TLSSocket): string | undefined {
  return identities.get(socket);
}
