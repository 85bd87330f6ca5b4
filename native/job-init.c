/* See job-init.h. */
#define _GNU_SOURCE
#include "job-init.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

const int FORWARDED[FORWARDED_COUNT] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
static volatile pid_t command_pid = 0;
/* Signals that came before the command existed, to pass on once it does. */
static volatile sig_atomic_t early_signals = 0;

void report(const char *step, int err) {
  char line[96];
  int n = snprintf(line, sizeof line, "%s %d\n", step, err);
  if (n > 0) (void)!write(STATUS_FD, line, (size_t)n);
}

void die(const char *step) {
  report(step, errno);
  _exit(127);
}

int parse_groups(const char *text, gid_t *groups) {
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

int job_namespace_flags(const struct job_options *options) {
  return CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (options->net_none ? CLONE_NEWNET : 0);
}

void reset_signals(void) {
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

void exec_command(const struct job_options *options, char **command, int error_fd) {
  reset_signals();
  int err = 0;
  if (options->drop) {
    if (setgroups((size_t)options->ngroups, options->groups) < 0 || setgid(options->gid) < 0 || setuid(options->uid) < 0) err = errno;
  }
  if (err == 0) {
    execvp(command[0], command);
    err = errno;
  }
  if (error_fd >= 0) (void)!write(error_fd, &err, sizeof err);
  else report("exec", err);
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
  /* Nobody had it yet, the group's copy included: the command gets it when it exists. */
  if (pid == 0) {
    early_signals |= 1 << sig;
    return;
  }
  if (pid > 0 && info->si_pid != 0) kill(pid, sig);
}

int pending_forwarded(void) {
  sigset_t pending;
  sigpending(&pending);
  int bits = 0;
  for (size_t s = 0; s < FORWARDED_COUNT; s++)
    if (sigismember(&pending, FORWARDED[s])) bits |= 1 << FORWARDED[s];
  return bits;
}

void send_forwarded(pid_t pid, int bits) {
  for (size_t s = 0; s < FORWARDED_COUNT; s++)
    if (bits & (1 << FORWARDED[s])) kill(pid, FORWARDED[s]);
}

static void hold(int sig) { (void)sig; }

void hold_init_signals(void) {
  struct sigaction held = {.sa_handler = hold};
  sigset_t mask;
  sigemptyset(&mask);
  for (size_t s = 0; s < FORWARDED_COUNT; s++) {
    sigaction(FORWARDED[s], &held, NULL);
    sigaddset(&mask, FORWARDED[s]);
  }
  sigprocmask(SIG_BLOCK, &mask, NULL);
}

void catch_init_signals(void) {
  struct sigaction fwd = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART};
  sigfillset(&fwd.sa_mask);
  for (size_t s = 0; s < FORWARDED_COUNT; s++) sigaction(FORWARDED[s], &fwd, NULL);
}

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

struct result run_init(const struct job_options *options, char **command) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("mount-private");
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("mount-proc");
  mount_private_tmp("/tmp", options->tmp_size);
  mount_private_tmp("/var/tmp", options->tmp_size);
  /* The working directory was entered before these mounts: under /tmp it would still be
     the host's directory, shared with the host and every job. Entered again by its path,
     it is the job's own (and a directory that exists only in the host's /tmp is not
     found here). */
  char here[PATH_MAX];
  if (!getcwd(here, sizeof here) || chdir(here) < 0) die("cwd-private");
  if (options->hostname && sethostname(options->hostname, strlen(options->hostname)) < 0) die("hostname");
  if (options->net_none) bring_loopback_up();

  int exec_error[2];
  if (pipe2(exec_error, O_CLOEXEC) < 0) die("pipe");
  sigset_t all, old;
  sigfillset(&all);
  /* No forwarded signal may arrive between fork and command_pid being set. */
  sigprocmask(SIG_BLOCK, &all, &old);
  /* One that came since the handler last ran (held by the mask now) reached init alone:
     the command, forked below, never had the group's copy. */
  early_signals |= pending_forwarded();
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    close(exec_error[0]);
    exec_command(options, command, exec_error[1]);
  }
  command_pid = child;
  /* Pending in the child (all blocked until its exec resets them): delivered at once. */
  send_forwarded(child, early_signals);
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
  return r;
}
