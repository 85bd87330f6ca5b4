/** A server's default `PoolOptions.queue.maxRunningPerOwner` (`serve --max-running-per-client`): most jobs one identity may run at once. */
export const DEFAULT_MAX_RUNNING_PER_CLIENT = 64;
/** `serve --max-queued-per-client`: the engine's own bound on each identity's queue. */
export { DEFAULT_MAX_QUEUED_PER_OWNER as DEFAULT_MAX_QUEUED_PER_CLIENT } from "../engine/pool/job-queue.js";
