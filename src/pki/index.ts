/**
 * The certificate library: the CA, certificate issuance, revocation, and the file
 * layout of a PKI directory (see docs/pki.md). Used by `jobworker certs`, by
 * `jobworker serve` (ensureDevPki) and by tests that need odd certificates.
 */
export {
  CA_VALIDITY_DAYS,
  CLOCK_SKEW_MS,
  DEFAULT_CA_COMMON_NAME,
  DEFAULT_CLIENT_NAME,
  DEFAULT_SERVER_COMMON_NAME,
  DEFAULT_SERVER_HOSTS,
  LEAF_VALIDITY_DAYS,
  MAX_NAME_LENGTH,
  MAX_VALIDITY_DAYS,
} from "./defaults.js";
export { PkiError, type PkiErrorCode } from "./errors.js";
export { defaultHome, defaultPkiDir, pkiPaths, type PkiPaths } from "./paths.js";
export { parseHost, validateClientName, type HostName } from "./names.js";
export {
  createCa,
  issueCert,
  loadCa,
  type CertificateAuthority,
  type CreateCaOptions,
  type ExtendedKeyUsageName,
  type IssueCertOptions,
  type IssuedCertificate,
} from "./certificates.js";
export { createCrl, readCrl, type CreateCrlOptions, type CrlContent, type RevokedEntry } from "./crl.js";
export { loadCaFromDir, validateDays } from "./ca-files.js";
export { ensureDevPki, initPki, type InitPkiOptions, type InitPkiResult, type PkiWriteResult } from "./init.js";
export {
  issueClientCert,
  issueServerCert,
  type IssueClientOptions,
  type IssueResult,
  type IssueServerOptions,
} from "./issue.js";
export { revokeClientCert, type RevokeClientOptions, type RevokeResult } from "./revoke.js";
export { DIR_MODE, KEY_FILE_MODE, PUBLIC_FILE_MODE } from "./files.js";
