/*
 * jobworker-init: starts one job in its own PID, mount, IPC and UTS (and optionally
 * network) namespaces, with a minimal init as PID 1. See docs/design.md, "Isolation".
 *
 *   jobworker-init [--hostname NAME] [--tmp-size BYTES] [--net-none]
 *                  [--uid UID --gid GID [--groups G1,G2,...]] -- CMD [ARGS...]
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
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATUS_FD 3
#define MAX_GROUPS 256

/* What init tells outer about the command's end. */
struct result {
  int kind; /* 0: exited with `value`; 1: killed by signal `value`; 2: did not start */
  int value;
};

static const int FORWARDED[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
static volatile pid_t command_pid = 0;

static void report(const char *step, int err) {
  char line[96];
  int n = snprintf(line, sizeof line, "%s %d\n", step, err);
  if (n > 0) (void)!write(STATUS_FD, line, (size_t)n);
}

static void die(const char *step) {
  report(step, errno);
  _exit(127);
}

/*
 * A signal from outside the namespace (si_pid 0 here) was sent to the job's process
 * group, which the command is in: it has it already, and a second copy would run its
 * trap twice. One sent to PID 1 from inside is passed on, as an init does.
 */
static void forward(int sig, siginfo_t *info, void *context) {
  (void)context;
  pid_t pid = command_pid;
  if (pid > 0 && info->si_pid != 0) kill(pid, sig);
}

static void ignore_in_outer(int sig) { (void)sig; }

static void bring_loopback_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("loopback");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) die("loopback");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) die("loopback");
  close(fd);
}

static void mount_private_tmp(const char *dir, const char *size) {
  char options[64];
  snprintf(options, sizeof options, "mode=1777,size=%s", size);
  if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, options) < 0) die(dir[1] == 't' ? "mount-tmp" : "mount-var-tmp");
}

static int parse_groups(const char *text, gid_t *groups) {
  int n = 0;
  const char *p = text;
  while (*p && n < MAX_GROUPS) {
    char *end;
    groups[n++] = (gid_t)strtoul(p, &end, 10);
    if (*end != ',') break;
    p = end + 1;
  }
  return n;
}

int main(int argc, char **argv) {
  const char *hostname = NULL, *tmp_size = "64m";
  int net_none = 0, drop = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  gid_t groups[MAX_GROUPS];
  int ngroups = 0;
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (strcmp(argv[i], "--net-none") == 0) { net_none = 1; continue; }
    if (i + 1 >= argc) { report("usage", EINVAL); return 127; }
    if (strcmp(argv[i], "--hostname") == 0) hostname = argv[++i];
    else if (strcmp(argv[i], "--tmp-size") == 0) tmp_size = argv[++i];
    else if (strcmp(argv[i], "--uid") == 0) { uid = (uid_t)strtoul(argv[++i], NULL, 10); drop = 1; }
    else if (strcmp(argv[i], "--gid") == 0) gid = (gid_t)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--groups") == 0) ngroups = parse_groups(argv[++i], groups);
    else { report("usage", EINVAL); return 127; }
  }
  if (i >= argc) { report("usage", EINVAL); return 127; }
  char **command = &argv[i];

  /* The job's command must not inherit the engine's status pipe. */
  if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) < 0) return 127;

  /* Signals to the job's process group reach init directly (it is in the group): outer
   * only waits, and must not die before the job does. A handler, not SIG_IGN, so that
   * nothing inherits "ignored". */
  struct sigaction quiet = {.sa_handler = ignore_in_outer};
  for (size_t s = 0; s < sizeof FORWARDED / sizeof *FORWARDED; s++) sigaction(FORWARDED[s], &quiet, NULL);

  int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (net_none ? CLONE_NEWNET : 0);
  if (unshare(flags) < 0) die("unshare");
  int channel[2];
  if (pipe2(channel, O_CLOEXEC) < 0) die("pipe");

  pid_t init = fork();
  if (init < 0) die("fork");
  if (init > 0) {
    /* outer */
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
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("mount-private");
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("mount-proc");
  mount_private_tmp("/tmp", tmp_size);
  mount_private_tmp("/var/tmp", tmp_size);
  if (hostname && sethostname(hostname, strlen(hostname)) < 0) die("hostname");
  if (net_none) bring_loopback_up();

  int exec_error[2];
  if (pipe2(exec_error, O_CLOEXEC) < 0) die("pipe");
  struct sigaction fwd = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO};
  sigemptyset(&fwd.sa_mask);
  sigset_t all, old;
  sigfillset(&all);
  /* No forwarded signal may arrive between fork and command_pid being set. */
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    close(exec_error[0]);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    int err = 0;
    if (drop) {
      if (setgroups((size_t)ngroups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0) err = errno;
    }
    if (err == 0) {
      execvp(command[0], command);
      err = errno;
    }
    (void)!write(exec_error[1], &err, sizeof err);
    _exit(127);
  }
  command_pid = child;
  for (size_t s = 0; s < sizeof FORWARDED / sizeof *FORWARDED; s++) sigaction(FORWARDED[s], &fwd, NULL);
  sigprocmask(SIG_SETMASK, &old, NULL);

  close(exec_error[1]);
  int err = 0;
  ssize_t got;
  while ((got = read(exec_error[0], &err, sizeof err)) < 0 && errno == EINTR) {}
  close(exec_error[0]);
  struct result r = {2, 0};
  if (got == (ssize_t)sizeof err) report("exec", err);

  /* Reap until the command ends; orphans re-parented to us are reaped on the way. */
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pid == child) {
      if (got != (ssize_t)sizeof err) {
        r.kind = WIFSIGNALED(status) ? 1 : 0;
        r.value = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
      }
      break;
    }
  }
  /* The job is over when its command is: nothing it left behind may run on. */
  kill(-1, SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {}
  (void)!write(channel[1], &r, sizeof r);
  _exit(0);
}
