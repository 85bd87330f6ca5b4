/**
 * Defaults of the certificate tool, in one place so docs/pki.md, the CLI help and the
 * code agree.
 */

/**
 * The client certificate `certs init` makes when no `--client` is given, and the one the
 * CLI client uses by default (`clients/default.pem` / `clients/default.key`). Its CN,
 * "default", is the identity that owns the jobs started with it.
 */
export const DEFAULT_CLIENT_NAME = "default";

/** SANs of the server certificate when no `--host` is given: loopback only. */
export const DEFAULT_SERVER_HOSTS: readonly string[] = Object.freeze(["localhost", "127.0.0.1", "::1"]);

/** Common name of the CA `certs init` creates. */
export const DEFAULT_CA_COMMON_NAME = "jobworker CA";

/** Common name of the server certificate (identification only: clients check the SANs). */
export const DEFAULT_SERVER_COMMON_NAME = "jobworker server";

/** Validity of the CA: 10 years. A CA outliving its leaves lets them be re-issued alone. */
export const CA_VALIDITY_DAYS = 3650;

/** Validity of server and client certificates unless `--days` says otherwise: 1 year. */
export const LEAF_VALIDITY_DAYS = 365;

/**
 * notBefore is set this far in the past so that a peer whose clock is slightly behind
 * ours does not reject a certificate issued a moment ago as "not yet valid".
 */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Longest accepted client name (it becomes a CN, whose X.520 upper bound is 64). */
export const MAX_NAME_LENGTH = 64;

/** Upper bound accepted for `--days` (100 years); anything above is surely a typo. */
export const MAX_VALIDITY_DAYS = 36500;

export const DAY_MS = 24 * 60 * 60 * 1000;
