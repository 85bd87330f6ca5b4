/** Default of `ServerOptions.maxRunningPerClient`: most jobs one identity may run at once. */
export const DEFAULT_MAX_RUNNING_PER_CLIENT = 64;
