/** A server's default `PoolOptions.queue.maxRunningPerOwner` (`serve --max-running-per-client`): most jobs one identity may run at once. */
export const DEFAULT_MAX_RUNNING_PER_CLIENT = 64;
/** A server's default `PoolOptions.queue.maxQueuedPerOwner` (`serve --max-queued-per-client`): most jobs one identity may have waiting. */
export const DEFAULT_MAX_QUEUED_PER_CLIENT = 1000;
