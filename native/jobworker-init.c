/*
 * jobworker-init: starts one job in its own PID, mount, IPC and UTS (and optionally
 * network) namespaces, with a minimal init as PID 1. See docs/design.md, "Isolation".
 *
 *   jobworker-init [--hostname NAME] [--tmp-size BYTES] [--net-none]
 *                  [--uid UID --gid GID [--groups G1,G2,...]] -- CMD [ARGS...]
 *
 * Used for jobs started directly by the engine (those with a stdin pipe); the others
 * start through jobworker-launcher, which makes init its own child (one process fewer).
 *
 * Three processes:
 *   outer (host pid, the engine's child, leader of the job's process group): unshares,
 *     forks init, waits for it, and ends exactly as the job's command ended (same exit
 *     code, or the same signal raised on itself), so the engine sees what it would see
 *     without isolation.
 *   init (pid 1 inside): mounts /proc, a private tmpfs on /tmp and /var/tmp, sets the
 *     hostname, brings lo up, forks the command (which stays in the job's process group,
 *     so the engine's signals reach it directly), forwards to it the signals sent to
 *     PID 1 from inside the namespace,
 *     reaps every orphan, and when the command ends kills whatever is left in the
 *     namespace.
 *   the command: resets signal dispositions, drops privileges, execs.
 *
 * Failures of this machinery, and an exec that fails, are written to fd 3 (a pipe the
 * engine reads) as one line "<step> <errno>", so the engine records them as a job that
 * could not start, never as an exit code of the job's.
 *
 * Built static (no dynamic loader), so variables of the job's environment such as
 * LD_PRELOAD, which this process carries to the command, cannot load code into it while
 * it still runs as root.
 */
#define _GNU_SOURCE
#include "job-init.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t init_pid = 0;
/* Signals that came before init existed: nobody else had them, init gets them. */
static volatile sig_atomic_t early_signals = 0;

static void ignore_in_outer(int sig) {
  if (init_pid == 0) early_signals |= 1 << sig;
}

/* Reads the options before `--`; returns the index of the command, or -1. */
static int parse_options(int argc, char **argv, struct job_options *o) {
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) return i + 1 < argc ? i + 1 : -1;
    if (strcmp(argv[i], "--net-none") == 0) { o->net_none = 1; continue; }
    if (i + 1 >= argc) return -1;
    if (strcmp(argv[i], "--hostname") == 0) o->hostname = argv[++i];
    else if (strcmp(argv[i], "--tmp-size") == 0) o->tmp_size = argv[++i];
    else if (strcmp(argv[i], "--uid") == 0) { o->uid = (uid_t)strtoul(argv[++i], NULL, 10); o->drop = 1; }
    else if (strcmp(argv[i], "--gid") == 0) o->gid = (gid_t)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--groups") == 0) o->ngroups = parse_groups(argv[++i], o->groups);
    else return -1;
  }
  return -1;
}

int main(int argc, char **argv) {
  struct job_options options = {.tmp_size = "64m"};
  int first = parse_options(argc, argv, &options);
  if (first < 0) { report("usage", EINVAL); return 127; }
  char **command = &argv[first];

  /* The job's command must not inherit the engine's status pipe. */
  if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) < 0) return 127;

  /* Signals to the job's process group reach init directly (it is in the group): outer
   * only waits, and must not die before the job does; those that come before init
   * exists are passed to it. A handler, not SIG_IGN, so that nothing inherits "ignored". */
  struct sigaction quiet = {.sa_handler = ignore_in_outer};
  for (size_t s = 0; s < FORWARDED_COUNT; s++) sigaction(FORWARDED[s], &quiet, NULL);

  if (unshare(job_namespace_flags(&options)) < 0) die("unshare");
  int channel[2];
  if (pipe2(channel, O_CLOEXEC) < 0) die("pipe");

  /* Blocked across the fork: init catches them for itself before it takes any. */
  sigset_t quiet_mask, old_mask;
  sigemptyset(&quiet_mask);
  for (size_t s = 0; s < FORWARDED_COUNT; s++) sigaddset(&quiet_mask, FORWARDED[s]);
  sigprocmask(SIG_BLOCK, &quiet_mask, &old_mask);
  /* Held by the mask now, these reached outer alone: init never had the group's copy. */
  early_signals |= pending_forwarded();
  pid_t init = fork();
  if (init < 0) die("fork");
  if (init > 0) {
    /* outer */
    init_pid = init;
    send_forwarded(init, early_signals);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    close(channel[1]);
    int status;
    while (waitpid(init, &status, 0) < 0 && errno == EINTR) {}
    struct result r;
    ssize_t n;
    while ((n = read(channel[0], &r, sizeof r)) < 0 && errno == EINTR) {}
    if (n != (ssize_t)sizeof r) {
      report("init", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
      return 127;
    }
    if (r.kind == 0) return r.value;
    if (r.kind == 1) {
      signal(r.value, SIG_DFL);
      sigset_t all;
      sigfillset(&all);
      sigprocmask(SIG_UNBLOCK, &all, NULL);
      kill(getpid(), r.value);
      return 128 + r.value;
    }
    return 127;
  }

  /* init: pid 1 of the new namespace. If outer is killed, so is init, and with it the
   * whole namespace. */
  close(channel[0]);
  catch_init_signals();
  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct result r = run_init(&options, command);
  (void)!write(channel[1], &r, sizeof r);
  _exit(0);
}
