// Who is asking: the CN of a client certificate OpenSSL accepted, checked for clientAuth
// and one CN before the HTTP layer sees the connection, and set on every request.
// Handshakes refused (by OpenSSL or by that check) are logged with the reason and the
// peer, and counted, since the client only sees the connection reset.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { checkClientCertificate, identityOf, setIdentity } from "../client-identity.js";
import { handshakeRefusal, PeerAddresses } from "../handshake-refusal.js";
import { HttpError } from "../http-error.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";

export interface IdentityOptions {
  log: (line: string) => void;
  metrics: ServerMetrics | undefined;
  /** Filled with the authenticated connections, so that a reload can close those it revokes. */
  openSockets: Set<TLSSocket>;
}

export const identityPlugin = fp<IdentityOptions>(
  async (app: FastifyInstance, { log, metrics, openSockets }) => {
    const peers = new PeerAddresses();
    // Runs before the HTTP layer sees the connection (prepended): a certificate OpenSSL
    // accepted but without clientAuth EKU or CN never reaches a handler.
    app.server.prependListener("secureConnection", (socket: TLSSocket) => {
      const check = checkClientCertificate(socket);
      if ("refused" in check) {
        log(`refused a TLS connection from ${peers.of(socket)}: ${check.refused.message}`);
        metrics?.handshakeFailed(check.refused.reason);
        socket.destroy();
        return;
      }
      setIdentity(socket, check.identity);
      openSockets.add(socket);
      socket.once("close", () => openSockets.delete(socket));
    });
    // OpenSSL's own refusals (no certificate, unknown CA, expired, revoked).
    app.server.prependListener("connection", (raw: Socket) => peers.remember(raw));
    app.server.on("tlsClientError", (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      const refusal = handshakeRefusal(err, socket);
      log(`refused a TLS connection from ${peers.of(socket)}: ${refusal.message}`);
      metrics?.handshakeFailed(refusal.reason);
    });

    app.decorateRequest("identity", "");
    app.decorateRequest("jobId", null);
    app.decorateRequest("jobOwner", null);
    app.addHook("onRequest", async (request) => {
      const identity = identityOf(request.raw.socket as TLSSocket);
      // Cannot happen with the listener above; kept so that no handler ever runs without one.
      if (identity === undefined) throw new HttpError("CLIENT_CERT_REQUIRED");
      request.identity = identity;
    });
  },
  { name: "jobworker-identity" },
);
