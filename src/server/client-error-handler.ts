import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { ERRORS, type HttpErrorCode } from "./errors.js";
import { identityOf } from "./client-identity.js";
import type { AuditWriter } from "./audit-log.js";

/** What Node's HTTP parser refused, as one of our codes. */
function refusalOf(err: NodeJS.ErrnoException): HttpErrorCode {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return "HEADERS_TOO_LARGE";
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return "REQUEST_TIMEOUT";
    case "HPE_INVALID_URL":
      return "BAD_URL";
    default:
      return "INVALID_REQUEST";
  }
}

/**
 * Answers a request Node's HTTP parser refused before fastify saw it (a raw 0xE9 byte in
 * the URL, headers too large, a timeout). fastify's default answer has no
 * `Connection: close` although the socket is then destroyed, so a keep-alive client
 * reused it and its next request failed with ECONNRESET. Ours says close, carries a
 * code like every other error, and is audited.
 */
export function clientErrorHandler(audit: () => AuditWriter) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (socket.destroyed || !socket.writable || err.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const code = refusalOf(err);
    const { status, message } = ERRORS[code];
    const body = JSON.stringify({ error: message, code });
    socket.end(
      `HTTP/1.1 ${status} ${httpReason(status)}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    audit()({
      time: new Date().toISOString(),
      identity: identityOf(socket as TLSSocket) ?? null,
      method: "",
      route: "",
      job_id: null,
      status,
      duration_ms: 0,
      error_code: code,
    });
  };
}

function httpReason(status: number): string {
  return status === 431 ? "Request Header Fields Too Large" : status === 408 ? "Request Timeout" : "Bad Request";
}
