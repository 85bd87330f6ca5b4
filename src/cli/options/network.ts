import { InvalidArgumentError } from "commander";

/** The network modes a job can have: the host's, or none (only loopback, in its own namespace). */
export type NetworkMode = "host" | "none";

/** `--network none|host`. */
export function parseNetwork(value: string): NetworkMode {
  if (value !== "none" && value !== "host") throw new InvalidArgumentError('expected "none" (only loopback) or "host"');
  return value;
}
