/*
 * The parts of a job's start that both native programs share (docs/design.md,
 * "Isolation" and "The launcher"): PID 1 of a job's namespaces, and the last steps of
 * the command's own process (signals reset, privileges dropped, exec).
 */
#ifndef JOBWORKER_JOB_INIT_H
#define JOBWORKER_JOB_INIT_H
#include <sys/types.h>

/* Where failures are reported, one line "<step> <errno>": a pipe only the engine reads. */
#define STATUS_FD 3
#define MAX_GROUPS 256

/* What the command runs as, and in what namespaces. */
struct job_options {
  const char *hostname; /* NULL: leave the UTS name as it is */
  const char *tmp_size; /* size of the private /tmp and /var/tmp */
  int net_none;         /* a network namespace with only lo */
  int drop;             /* switch to uid/gid/groups before exec */
  uid_t uid;
  gid_t gid;
  gid_t groups[MAX_GROUPS];
  int ngroups;
};

/* How the command ended. */
struct result {
  int kind; /* 0: exited with `value`; 1: killed by signal `value`; 2: did not start */
  int value;
};

/* Writes "<step> <err>\n" on STATUS_FD. */
void report(const char *step, int err);
/* Reports errno for `step` and ends the process with 127. */
void die(const char *step) __attribute__((noreturn));
/* Parses "G1,G2,..." into `groups`; returns how many. */
int parse_groups(const char *text, gid_t *groups);
/* The namespace flags a job gets. */
int job_namespace_flags(const struct job_options *options);
/* Resets signals, drops privileges, execs; on failure reports "exec <errno>" to `error_fd` (or STATUS_FD when -1) and exits 127. */
void exec_command(const struct job_options *options, char **command, int error_fd) __attribute__((noreturn));
/* The signals an init passes on to its command (and helper's outer keeps from killing it). */
#define FORWARDED_COUNT 8
extern const int FORWARDED[FORWARDED_COUNT];
/* Those of FORWARDED pending (blocked) in this process, as bits (1 << signal). */
int pending_forwarded(void);
/* Sends `pid` each signal of FORWARDED whose bit (1 << signal) is set in `bits`. */
void send_forwarded(pid_t pid, int bits);
/*
 * An init's signal handling, to install first thing in a new PID namespace: the kernel
 * drops a signal sent to a namespace's init that has no handler for it, so without this a
 * stop sent while the job is being set up would be lost. Signals that come before the
 * command exists are kept for it.
 */
void catch_init_signals(void);
/*
 * For the process that forks inits: the signals an init forwards get a handler here, and
 * are blocked, so that a child is never without one (those it has not caught yet wait).
 */
void hold_init_signals(void);
/* Every signal to its default, none blocked (as a command expects at exec). */
void reset_signals(void);
/*
 * Runs as PID 1 of fresh namespaces: private mounts, /proc, /tmp, /var/tmp, hostname,
 * lo; forks the command, forwards signals sent to PID 1 from inside, reaps orphans, and
 * once the command ends kills and reaps what is left. Returns how the command ended.
 */
struct result run_init(const struct job_options *options, char **command);

#endif
