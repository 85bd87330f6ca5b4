/** The worker daemon: the job pool over HTTPS with mutual TLS. */
export { startServer, BODY_LIMIT_BYTES } from "./start-server.js";
export { DEFAULT_MAX_RUNNING_PER_CLIENT } from "./defaults.js";
export type { RunningServer, ServedRoute, ServerOptions } from "./start-server.js";
export { ServerConfigError } from "./config-error.js";
export { ERRORS, type HttpErrorCode } from "./errors.js";
export { HttpError } from "./http-error.js";
export { TLS13_CIPHER_SUITES } from "./tls-options.js";
export type { AuditEntry } from "./audit-log.js";
