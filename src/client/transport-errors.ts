import { ClientError } from "./errors.js";
import { diagnoseRefusal } from "./refusal-diagnosis.js";

/** What a transport error message may name: the server and the credential files. */
export interface ErrorContext {
  /** The server URL as the user gave it. */
  url: string;
  /** Where our client certificate came from (a path), for messages. */
  certLabel?: string;
  /** Where the trusted CA came from (a path), for messages. */
  caLabel?: string;
  /** True once response bytes were received on this request (a drop is then a lost connection). */
  responseStarted?: boolean;
  /** Our certificate and the CA we trust, to tell why the server refused us. */
  credentials?: { cert: string | Buffer; ca: string | Buffer };
}

// Errors Node's TLS layer raises when it does not trust the server's certificate chain
// or name. Found by connecting to servers with another CA, a self-signed certificate
// and a wrong SAN.
const UNTRUSTED_SERVER = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REJECTED",
  "INVALID_PURPOSE",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

// Alerts the server sends when it refuses our certificate during the handshake.
const REJECTION_ALERTS = [
  "CERTIFICATE_REQUIRED",
  "BAD_CERTIFICATE",
  "UNKNOWN_CA",
  "CERTIFICATE_EXPIRED",
  "CERTIFICATE_REVOKED",
  "CERTIFICATE_UNKNOWN",
  "UNSUPPORTED_CERTIFICATE",
  "ACCESS_DENIED",
  "DECRYPT_ERROR",
];

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  EADDRNOTAVAIL: "address not available",
};

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | undefined;
  // OpenSSL failures met while writing arrive as a bare EPROTO whose message carries
  // OpenSSL's reason ("…:ssl3_get_record:wrong version number:…"): turn that reason
  // into the ERR_SSL_* code Node gives the same failure elsewhere.
  if (e?.code === "EPROTO" && typeof e.message === "string") {
    const reason = /:(?:SSL routines|ssl routines):[^:]*:([^:]+):/.exec(e.message)?.[1];
    if (reason) return `ERR_SSL_${reason.trim().toUpperCase().replace(/[^A-Z0-9]+/g, "_")}`;
  }
  if (typeof e?.code === "string") return e.code;
  return typeof e?.cause?.code === "string" ? e.cause.code : undefined;
}

/**
 * Turns an error from Node's HTTPS or TLS layer into a {@link ClientError} whose
 * message says what happened in words and whose hint names the fix. Errors that are
 * already ClientErrors pass through. Called for every failed request and stream.
 */
export function toClientError(err: unknown, ctx: ErrorContext): ClientError {
  if (err instanceof ClientError) return err;
  const code = codeOf(err);
  const ca = ctx.caLabel ? ` ${ctx.caLabel}` : "";

  if (code && code in UNREACHABLE) {
    return new ClientError("SERVER_UNREACHABLE", `cannot reach the server at ${ctx.url}: ${UNREACHABLE[code]}`, {
      hint: "is `jobworker serve` running there? Set the address with --server or JOBWORKER_SERVER",
      cause: err,
    });
  }
  if (code && UNTRUSTED_SERVER.has(code)) {
    const why = (err as Error).message || code;
    return new ClientError("SERVER_CERT_UNTRUSTED", `the server's certificate at ${ctx.url} is not trusted: ${why}`, {
      hint:
        code === "ERR_TLS_CERT_ALTNAME_INVALID"
          ? hostMismatchHint(ctx.url)
          : `pass --ca or JOBWORKER_CA with the CA that signed it; trusting now:${ca || " the default CA"}`,
      cause: err,
    });
  }
  if (code && /^ERR_SSL_(TLSV13|TLSV1|SSLV3)_ALERT_/.test(code) && REJECTION_ALERTS.some((a) => code.endsWith(a))) {
    return certRejected(ctx, code.replace(/^ERR_SSL_(TLSV13|TLSV1|SSLV3)_ALERT_/, "").toLowerCase().replace(/_/g, " "), err);
  }
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_PACKET_LENGTH_TOO_LONG") {
    return new ClientError("SERVER_UNREACHABLE", `the server at ${ctx.url} does not speak TLS`, {
      hint: "is that the address of `jobworker serve`? It only speaks HTTPS",
      cause: err,
    });
  }
  if (code?.startsWith("ERR_SSL_") || code?.startsWith("ERR_TLS_")) {
    return new ClientError("TLS_FAILED", `TLS with ${ctx.url} failed: ${(err as Error).message.split("\n")[0]}`, {
      hint: "jobworker speaks TLS 1.3 only; check that --server points at `jobworker serve`",
      cause: err,
    });
  }
  // With TLS 1.3 the client's side of the handshake completes before the server checks
  // our certificate, so a refusal surfaces as the server closing (or resetting) the
  // connection before sending a single byte ("socket hang up"). Node servers close
  // without an alert whatever the reason. On a connection an earlier request used, the
  // server had accepted us: a close there is a lost connection.
  const accepted = ctx.responseStarted === true || (err as { reusedSocket?: boolean }).reusedSocket === true;
  if ((code === "ECONNRESET" || code === "EPIPE") && !accepted) {
    return certRejected(ctx, undefined, err);
  }
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ABORT_ERR" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ERR_CLIENT_DESTROYED") {
    return new ClientError("CONNECTION_LOST", `the connection to ${ctx.url} was lost`, {
      hint: "the server may have stopped; check it and retry",
      cause: err,
    });
  }
  if (code === "ERR_RESPONSE_TIMEOUT") {
    return new ClientError("SERVER_ERROR", `the server at ${ctx.url} stopped answering`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ClientError("SERVER_ERROR", `request to ${ctx.url} failed: ${message}`, { cause: err });
}

function certRejected(ctx: ErrorContext, alert: string | undefined, cause: unknown): ClientError {
  const cert = ctx.certLabel ? ` ${ctx.certLabel}` : "";
  // A reset says nothing: our own files tell revoked, another CA and no clientAuth apart.
  const diagnosis = alert === undefined && ctx.credentials ? diagnoseRefusal(ctx.credentials.cert, ctx.credentials.ca) : undefined;
  if (diagnosis) {
    return new ClientError("CERT_REJECTED", `the server at ${ctx.url} refused the client certificate${cert}: ${diagnosis.reason}`, { hint: diagnosis.hint, cause });
  }
  return new ClientError("CERT_REJECTED", `the server at ${ctx.url} refused the client certificate${cert}${alert ? `: ${alert}` : ""}`, {
    hint: "it must be signed by the server's CA, valid and not revoked: `jobworker certs issue NAME` on the server makes one, pass it with --cert and --key",
    cause,
  });
}

/**
 * What to do when the server's certificate does not name the host we connected to: use a
 * name it lists, or re-issue the server certificate alone (`certs init` would make a new
 * CA, and every client's certificate with it, worthless) and have serve reload it.
 */
function hostMismatchHint(url: string): string {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
  return `connect with a host name the server's certificate lists, or add this one: on the server, \`jobworker certs server --force --host ${host}\` (with every other name it needs), then SIGHUP to serve (\`systemctl reload jobworker\`)`;
}
