/*
 * A job's confinement (native/confine.c): what is left of the host to an isolated job
 * (the host read-only, masks, a private /dev), and what is left of privilege to its
 * command (no capabilities, no_new_privs, a seccomp filter). Failures end the calling
 * process with die() (job-init.h); the steps are listed at the top of confine.c.
 */
#ifndef JOBWORKER_CONFINE_H
#define JOBWORKER_CONFINE_H

struct job_options;

/*
 * In an isolated job's init (root, a fresh mount namespace whose mounts are private
 * already), when options->ro_host is set, instead of init's own /proc, /tmp and /var/tmp
 * mounts (it makes those too): the host read-only and nosuid, a new /proc with Docker's
 * masks, a fresh read-only /sys with /sys/fs/cgroup hidden, a minimal /dev, private /tmp
 * and /var/tmp, /home and /root hidden, the identity's home at home_target (mounted only
 * when home_source and home_target are both set), the masks, the writable paths. The
 * working directory must be entered again by its path afterwards (as run_init does after
 * its own mounts): until then it is the host's directory.
 */
void confine_mounts(const struct job_options *o);

/*
 * In the command's own process, right before execvp (signals reset, environment and cwd
 * set): groups, gid, (bounding set,) uid when options->drop; then, when options->confine,
 * no capability in any set, no_new_privs, and the seccomp filter.
 */
void confine_process(const struct job_options *o);

#endif
