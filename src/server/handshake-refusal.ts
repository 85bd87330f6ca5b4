import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

/**
 * Why a client was refused before any handler ran, as a stable label (the metric
 * `jobworker_tls_handshake_failures_total{reason}`): a fixed set, whatever the client sent.
 */
export const REFUSAL_REASONS = [
  "no_certificate",
  "unknown_ca",
  "expired",
  "not_yet_valid",
  "revoked",
  "no_client_auth",
  "no_cn",
  "invalid_cn",
  "certificate_refused",
  "no_shared_cipher",
  "handshake_failed",
] as const;

/** One of {@link REFUSAL_REASONS}. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** A refused connection: the stable reason, and the operator's sentence for the log. */
export interface Refusal {
  reason: RefusalReason;
  message: string;
}

/**
 * Why OpenSSL refused a client during the handshake, in the operator's words. Node
 * verifies the client's chain itself once the handshake is done and leaves the verdict
 * in `authorizationError` before it drops the connection, so that is where the reason is;
 * the error it reports is only a reset.
 */
export function handshakeRefusal(err: NodeJS.ErrnoException, socket: TLSSocket | undefined): Refusal {
  if (err.code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE") return { reason: "no_certificate", message: "no client certificate" };
  const verdict = socket?.authorizationError as string | undefined;
  switch (verdict) {
    case undefined:
    case null:
      break;
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "CERT_SIGNATURE_FAILURE":
      return { reason: "unknown_ca", message: "certificate not signed by this server's CA (unknown CA)" };
    case "CERT_HAS_EXPIRED":
      return { reason: "expired", message: "certificate expired" };
    case "CERT_NOT_YET_VALID":
      return { reason: "not_yet_valid", message: "certificate not yet valid" };
    case "CERT_REVOKED":
      return { reason: "revoked", message: "certificate revoked" };
    case "INVALID_PURPOSE":
      // OpenSSL's purpose check of a client certificate: its extended key usage.
      return { reason: "no_client_auth", message: "certificate lacks the clientAuth extended key usage" };
    default:
      return { reason: "certificate_refused", message: `certificate refused (${verdict})` };
  }
  if (err.code === "ERR_SSL_NO_SHARED_CIPHER" || err.code === "ERR_SSL_UNSUPPORTED_PROTOCOL") {
    return { reason: "no_shared_cipher", message: `no TLS 1.3 suite in common (${err.code})` };
  }
  return { reason: "handshake_failed", message: `handshake failed (${err.code ?? err.message})` };
}

/**
 * Remembers where each TCP connection came from: once Node has dropped a refused
 * handshake, the TLS socket no longer knows its peer.
 */
export class PeerAddresses {
  private readonly peers = new WeakMap<object, string>();

  /** For the server's "connection" event (the raw TCP socket, before TLS). */
  remember(raw: Socket): void {
    if (raw.remoteAddress) this.peers.set(raw, raw.remoteFamily === "IPv6" ? `[${raw.remoteAddress}]:${raw.remotePort}` : `${raw.remoteAddress}:${raw.remotePort}`);
  }

  /** The peer of a TLS socket, through the raw socket it wraps (`_parent`, Node's own link). */
  of(socket: TLSSocket | undefined): string {
    const raw = (socket as (TLSSocket & { _parent?: object }) | undefined)?._parent;
    return (raw && this.peers.get(raw)) ?? "an unknown peer";
  }
}
