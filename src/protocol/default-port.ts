/** The port `jobworker serve` listens on by default, and the one a server URL without a port means. */
export const DEFAULT_PORT = 8443;
