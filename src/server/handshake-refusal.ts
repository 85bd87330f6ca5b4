import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

/**
 * Why OpenSSL refused a client during the handshake, in the operator's words. Node
 * verifies the client's chain itself once the handshake is done and leaves the verdict
 * in `authorizationError` before it drops the connection, so that is where the reason is;
 * the error it reports is only a reset.
 */
export function handshakeRefusalReason(err: NodeJS.ErrnoException, socket: TLSSocket | undefined): string {
  if (err.code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE") return "no client certificate";
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
      return "certificate not signed by this server's CA (unknown CA)";
    case "CERT_HAS_EXPIRED":
      return "certificate expired";
    case "CERT_NOT_YET_VALID":
      return "certificate not yet valid";
    case "CERT_REVOKED":
      return "certificate revoked";
    case "INVALID_PURPOSE":
      // OpenSSL's purpose check of a client certificate: its extended key usage.
      return "certificate lacks the clientAuth extended key usage";
    default:
      return `certificate refused (${verdict})`;
  }
  if (err.code === "ERR_SSL_NO_SHARED_CIPHER" || err.code === "ERR_SSL_UNSUPPORTED_PROTOCOL") return `no TLS 1.3 suite in common (${err.code})`;
  return `handshake failed (${err.code ?? err.message})`;
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
