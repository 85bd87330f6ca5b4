/*
 * The parts of a job's start shared by the launcher's children (docs/design.md,
 * "Isolation" and "The start path"): failure reports, strict numbers, PID 1 of a job's
 * namespaces, and the last steps of the command's own process (signals reset, confinement,
 * exec).
 */
#ifndef JOBWORKER_JOB_INIT_H
#define JOBWORKER_JOB_INIT_H
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/* Where a child reports its failures, one line "<step> <errno>": a pipe the launcher reads. */
#define STATUS_FD 3
#define MAX_GROUPS 256

/* What the command runs as, and in what namespaces. */
struct job_options {
  const char *hostname; /* NULL: leave the UTS name as it is */
  const char *tmp_size; /* size of the private /tmp and /var/tmp, bytes (decimal) */
  int net_none;         /* a network namespace with only lo */
  int drop;             /* switch to uid/gid/groups before exec */
  uid_t uid;
  gid_t gid;
  gid_t groups[MAX_GROUPS];
  int ngroups;
  /* confinement (native/confine.h) */
  int confine;               /* 1: no privilege left (caps, bounding set, no_new_privs, seccomp) */
  int ro_host;               /* 1 (isolated jobs only): host read-only, /proc masks, private /dev... */
  const char *home_source;   /* host path of the identity's home, or NULL */
  const char *home_target;   /* where the job sees it (e.g. /home/job), or NULL */
  char **masks; size_t nmasks;       /* host paths made empty in the job */
  char **writable; size_t nwritable; /* host paths left writable */
};

/* How the command ended. */
struct result {
  int kind; /* 0: exited with `value`; 1: killed by signal `value`; 2: did not start */
  int value;
};

/*
 * The one reporting path of every failure before the command runs: a STEP name (a
 * literal at the call, pinned by test/engine/start-steps.test.ts) and an errno.
 * report() writes "<step> <err>\n" to the current report descriptor (STATUS_FD unless
 * report_to_fd said otherwise), or hands it to the sink of report_to_sink (the launcher's
 * own failures, which become "exit HANDLE - - STEP ERRNO" events).
 */
void report(const char *step, int err);
/* Reports errno for `step` and ends the process with 127. Never in the launcher itself. */
void die(const char *step) __attribute__((noreturn));
void report_to_fd(int fd);
void report_to_sink(void (*sink)(const char *step, int err));

/* Parses a decimal number: digits only (no sign, space or junk), at least one, at most `max`. 0 on success. */
int parse_uint(const char *s, unsigned long max, unsigned long *out);
/* The largest uid or gid a job may get: (uid_t)-1 means "unchanged" to setresuid. */
#define MAX_ID 4294967294UL
/* Parses "G1,G2,..." (or "") strictly into `groups`; how many, or -1 for junk or too many. */
int parse_groups(const char *text, gid_t *groups);
/* Takes the launcher's ids and whether jobs need a user namespace (it is not root); at its start. */
void job_namespaces_init(void);
/* Whether isolated jobs get a user namespace (the launcher is not root). */
int jobs_in_user_namespace(void);
/* The namespace flags a job gets. */
int job_namespace_flags(const struct job_options *options);
/* In a just-cloned isolated child of a rootless launcher: maps the launcher's own uid and
   gid to themselves (nothing else may be mapped without privilege). Elsewhere nothing. */
void map_own_ids(void);
/* In the command's process of a rootless isolated job, after its init made the mounts:
   a nested user and mount namespace, in which every one of those mounts is locked. */
void lock_mounts(void);

/* The signals an init passes on to its command. */
#define FORWARDED_COUNT 8
extern const int FORWARDED[FORWARDED_COUNT];
/* FORWARDED and SIGCHLD: blocked in the launcher (so that every clone starts with them
   blocked, and a namespace's init never has one dropped), read by init from a signalfd. */
void init_signal_set(sigset_t *set);
/* Every signal to its default, none blocked (as a command expects at exec). */
void reset_signals(void);
/* In the command's own process: signals reset, confine_process, death with `parent` (when
   > 0) armed again and checked, execvp. On failure the step is reported and the process
   exits 127. */
void exec_command(const struct job_options *options, char **command, pid_t parent) __attribute__((noreturn));
/*
 * Runs as PID 1 of fresh namespaces: private mounts, then /proc, /tmp, /var/tmp (or
 * confine_mounts when options->ro_host), the working directory entered again, hostname,
 * lo; forks the command, forwards the signals sent to PID 1 from inside (and those that
 * came before the command existed), reaps orphans, and once the command ends kills and
 * reaps what is left. Returns how the command ended.
 */
struct result run_init(const struct job_options *options, char **command);

#endif
