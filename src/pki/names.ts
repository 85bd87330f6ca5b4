import { isIP } from "node:net";
import { MAX_NAME_LENGTH } from "./defaults.js";
import { PkiError } from "./errors.js";

// A client name is both a certificate CN (the identity jobs belong to) and a file name
// under clients/, so it is held to characters that are safe in both, in every shell,
// and that cannot escape the directory: no "/", no leading dot (no "..", no hidden
// files), no control characters or spaces.
const CLIENT_NAME = /^[A-Za-z0-9_@-][A-Za-z0-9._@-]*$/;

/**
 * Checks a client name and returns it unchanged, or throws `PKI_INVALID_NAME` saying
 * what is wrong. Accepted: 1–64 characters among letters, digits, `.`, `_`, `-`, `@`,
 * not starting with a dot.
 */
export function validateClientName(name: unknown): string {
  const fail = (why: string): never => {
    throw new PkiError("PKI_INVALID_NAME", `invalid client name ${describe(name)}: ${why}`, {
      hint: `use 1-${MAX_NAME_LENGTH} letters, digits, ".", "_", "-" or "@", not starting with "."`,
    });
  };
  if (typeof name !== "string") return fail("not a string");
  if (name.length === 0) return fail("it is empty");
  if (name.length > MAX_NAME_LENGTH) return fail(`longer than ${MAX_NAME_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(name)) return fail("it contains a control character");
  if (name.includes("/") || name.includes("\\")) return fail("it contains a path separator");
  if (name.startsWith(".")) return fail('it starts with "."');
  if (!CLIENT_NAME.test(name)) return fail("it contains a character other than letters, digits, . _ - @");
  return name;
}

/** A validated server host: what kind of SAN it becomes, and its canonical spelling. */
export interface HostName {
  type: "dns" | "ip";
  value: string;
}

// RFC 1123 labels; a leading "*." wildcard label is allowed for DNS SANs.
const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * Classifies a host as an IP address (v4 or v6, canonicalised: "::ffff:1.2.3.4" becomes
 * "::ffff:102:304", brackets are removed) or a DNS name (lower-cased, trailing dot
 * removed), or throws `PKI_INVALID_HOST`.
 */
export function parseHost(host: unknown): HostName {
  const fail = (why: string): never => {
    throw new PkiError("PKI_INVALID_HOST", `invalid host ${describe(host)}: ${why}`, {
      hint: "give a DNS name such as example.com or an IP address such as 10.0.0.1 or ::1",
    });
  };
  if (typeof host !== "string") return fail("not a string");
  let text = host.trim();
  if (text.length === 0) return fail("it is empty");
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  if (text.includes("%")) return fail("IPv6 zone ids cannot appear in a certificate");
  const version = isIP(text);
  if (version === 4) return { type: "ip", value: text };
  if (version === 6) {
    // The URL parser canonicalises IPv6 (compressed hex, embedded IPv4 turned into hex),
    // which the x509 library's own IP encoder needs.
    return { type: "ip", value: new URL(`http://[${text}]/`).hostname.slice(1, -1) };
  }
  const name = text.endsWith(".") ? text.slice(0, -1).toLowerCase() : text.toLowerCase();
  if (name.length > 253) return fail("longer than 253 characters");
  // Something shaped like a dotted quad that isIP refused (e.g. 300.1.1.1) is a typo,
  // not a DNS name.
  if (/^[0-9.]+$/.test(name)) return fail("not a valid IPv4 address");
  const labels = name.split(".");
  labels.forEach((label, i) => {
    if (i === 0 && label === "*" && labels.length > 2) return;
    if (!DNS_LABEL.test(label)) fail(`"${label}" is not a valid DNS label`);
  });
  return { type: "dns", value: name };
}

/** Quotes a value for an error message, making control characters visible. */
function describe(value: unknown): string {
  if (typeof value !== "string") return String(value);
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}
