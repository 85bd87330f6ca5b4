// Whether the server's certificate names the address `serve` listens on: clients verify
// the name they connect to against it, so a certificate for loopback names only, served
// on 0.0.0.0, is refused by every client on another host. `serve` warns in one line.
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";

/** The names of a certificate's subjectAltName, as `DNS:` and `IP Address:` entries list them. */
function altNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? "")
    .split(/,\s*/)
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ""))
    .filter((name) => name !== "");
}

function isLoopbackName(name: string): boolean {
  return name === "localhost" || name.endsWith(".localhost") || /^127\./.test(name) || name === "::1" || name === "0:0:0:0:0:0:0:1";
}

function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "0:0:0:0:0:0:0:0";
}

/**
 * A warning when `certPem` does not cover `host` (what `--listen` names), else undefined.
 * Every address (0.0.0.0, ::) is covered by any name that is not loopback, since clients
 * there connect by a name of the host that we cannot know; a specific non-loopback
 * address by itself or any such name (a DNS name may resolve to it); loopback and host
 * names by themselves only.
 */
export function certificateCoverageWarning(certPem: string | Buffer, host: string): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return undefined; // the TLS setup already refused or will refuse it, saying why
  }
  const names = altNames(cert);
  const external = names.filter((name) => !isLoopbackName(name));
  const ip = isIP(host) !== 0;
  const covered = isWildcard(host)
    ? external.length > 0
    : ip
      ? cert.checkIP(host) !== undefined || (!isLoopbackName(host) && external.some((name) => isIP(name) === 0))
      : cert.checkHost(host) !== undefined;
  if (covered) return undefined;
  const listened = isWildcard(host) ? `${host} (every address)` : host;
  const lists = names.length > 0 ? names.join(", ") : "no host name";
  return (
    `warning: the server certificate lists ${lists}, not the address serve listens on, ${listened}: ` +
    "clients connecting by another name refuse it; add the names clients use with `jobworker certs server --force --host NAME` and send serve SIGHUP"
  );
}
