import { X509Certificate } from "node:crypto";

/** OID of the clientAuth extended key usage, which the server requires. */
const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";

/** Why the server most likely refused our certificate, and what to do about it. */
export interface RefusalReason {
  /** After "refused the client certificate FILE: ". */
  reason: string;
  hint: string;
}

const NEW_CERT = "`jobworker certs issue NAME` on the server makes a client certificate (pki/clients/NAME.pem and .key): copy both here and pass them with --cert and --key";

/**
 * Works out why the server refused our client certificate. The server cannot tell us:
 * Node verifies the client's chain after the TLS 1.3 handshake and resets the
 * connection without an alert, and the clientAuth and CN checks do the same, so every
 * refusal looks alike on the wire (ECONNRESET with nothing read). Our own certificate
 * and the CA we trust (the one that signed the server's certificate: the handshake
 * just verified it) say the rest: the server requires the same checks in this order.
 * What passes all of them was refused for a reason only the server knows, which with
 * jobworker's checks is its CRL. Runs only after a refusal, so its parsing costs
 * nothing on the path that works.
 */
export function diagnoseRefusal(certPem: string | Buffer, caPem: string | Buffer, now: Date = new Date()): RefusalReason | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return undefined;
  }
  const cas = pemBlocks(caPem).flatMap((pem) => {
    try {
      return [new X509Certificate(pem)];
    } catch {
      return [];
    }
  });
  if (cas.length > 0 && !cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
    // Every `certs init` names its CA "jobworker CA": say when the names match but the keys do not.
    const sameName = cas.some((ca) => ca.subject === cert.issuer);
    return {
      reason: `it is signed by another CA${sameName ? " of the same name" : ""} (${cert.issuer.replace(/\n/g, ", ")}), not by the server's CA`,
      hint: NEW_CERT,
    };
  }
  if (Date.parse(cert.validTo) < now.getTime()) return { reason: `it expired on ${cert.validTo}`, hint: NEW_CERT.replace("makes a", "makes a new") };
  if (Date.parse(cert.validFrom) > now.getTime()) return { reason: `it is not valid before ${cert.validFrom}`, hint: "check this machine's clock, or wait" };
  // keyUsage is Node's name for the extended key usages; undefined when there are none,
  // which the server refuses too.
  if (!(cert.keyUsage ?? []).includes(CLIENT_AUTH_OID)) {
    return { reason: "it lacks the clientAuth extended key usage (it is not a client certificate)", hint: NEW_CERT };
  }
  if (!/^CN=/m.test(cert.subject)) return { reason: "it has no subject CN (the identity)", hint: NEW_CERT };
  return {
    reason: "it is signed by the server's CA and valid, so it has most likely been revoked",
    hint: `\`jobworker certs revoke\` puts a certificate on the server's revocation list; ask the server's operator for a new one (${NEW_CERT.split(":")[0]})`,
  };
}

function pemBlocks(pem: string | Buffer): string[] {
  return pem.toString().match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
