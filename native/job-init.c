/* See job-init.h. */
#define _GNU_SOURCE
#include "job-init.h"
#include "confine.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

const int FORWARDED[FORWARDED_COUNT] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

/* ---- Failures ---- */

static int report_fd = STATUS_FD;
static void (*report_sink)(const char *step, int err);

void report_to_fd(int fd) {
  report_fd = fd;
  report_sink = NULL;
}

void report_to_sink(void (*sink)(const char *step, int err)) { report_sink = sink; }

void report(const char *step, int err) {
  if (report_sink) {
    report_sink(step, err);
    return;
  }
  char line[96];
  int n = snprintf(line, sizeof line, "%s %d\n", step, err);
  if (n <= 0 || (size_t)n >= sizeof line) return; /* step names are short literals */
  ssize_t w;
  while ((w = write(report_fd, line, (size_t)n)) < 0 && errno == EINTR) {}
  /* w < 0: the reader (the launcher, or init for its command) is gone, and with it
     anyone to tell; the caller ends anyway. */
}

void die(const char *step) {
  report(step, errno);
  _exit(127);
}

/* ---- Numbers ---- */

int parse_uint(const char *s, unsigned long max, unsigned long *out) {
  if (!s || !*s) return -1;
  unsigned long value = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    unsigned long digit = (unsigned long)(*s - '0');
    if (value > (max - digit) / 10) return -1;
    value = value * 10 + digit;
  }
  *out = value;
  return 0;
}

int parse_groups(const char *text, gid_t *groups) {
  int n = 0;
  if (!*text) return 0;
  for (const char *p = text;;) {
    char item[16];
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= sizeof item || n == MAX_GROUPS) return -1;
    memcpy(item, p, len);
    item[len] = '\0';
    unsigned long gid;
    if (parse_uint(item, MAX_ID, &gid) < 0) return -1;
    groups[n++] = (gid_t)gid;
    if (p[len] == '\0') return n;
    p += len + 1;
  }
}

/* The launcher's own ids, taken at its start (a clone in a new user namespace sees the
   overflow ids until its map is written); rootless: the launcher is not root. */
static uid_t outer_uid;
static gid_t outer_gid;
static int rootless;

void job_namespaces_init(void) {
  outer_uid = geteuid();
  outer_gid = getegid();
  rootless = outer_uid != 0;
}

int jobs_in_user_namespace(void) { return rootless; }

int job_namespace_flags(const struct job_options *options) {
  /* Without root, the other namespaces need a user namespace of their own, made in the
     same clone (it owns them). */
  return CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (rootless ? CLONE_NEWUSER : 0) |
         (options->net_none ? CLONE_NEWNET : 0);
}

/* Writes `text` to a /proc/self file whole; -1 with errno set. */
static int write_self(const char *file, const char *text) {
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int err = n < 0 ? errno : EIO;
  if (close(fd) < 0) return -1;
  if (n != (ssize_t)len) {
    errno = err;
    return -1;
  }
  return 0;
}

void map_own_ids(void) {
  if (!rootless) return;
  /* The only map an unprivileged process may write: its own uid and gid, to themselves
     (the job keeps the server's ids), with setgroups denied first, as the kernel demands
     (a process could otherwise drop a group that denies it something). */
  char map[64];
  if (write_self("/proc/self/setgroups", "deny") < 0) die("userns");
  snprintf(map, sizeof map, "%lu %lu 1\n", (unsigned long)outer_uid, (unsigned long)outer_uid);
  if (write_self("/proc/self/uid_map", map) < 0) die("userns");
  snprintf(map, sizeof map, "%lu %lu 1\n", (unsigned long)outer_gid, (unsigned long)outer_gid);
  if (write_self("/proc/self/gid_map", map) < 0) die("userns");
}

void lock_mounts(void) {
  if (!rootless) return;
  /* A user namespace nested in the job's, and a copy of the mount namespace owned by it:
     every mount the job's init made (the masks, the read-only host) comes into it locked,
     so that it cannot be unmounted nor its flags cleared even with every capability here.
     The maps are the same one-line own-id maps (the parent's are the identity). */
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) die("userns-lock");
  map_own_ids();
}

/* ---- Signals ---- */

void init_signal_set(sigset_t *set) {
  sigemptyset(set);
  for (size_t s = 0; s < FORWARDED_COUNT; s++) sigaddset(set, FORWARDED[s]);
  sigaddset(set, SIGCHLD);
}

void reset_signals(void) {
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int s = 1; s < NSIG; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    /* EINVAL: one of the C library's own signals (32, 33), which it keeps for itself. */
    if (sigaction(s, &dfl, NULL) < 0 && errno != EINVAL) die("signals");
  }
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) die("signals");
}

/*
 * execvp without its fallback: for a file the kernel refuses with ENOEXEC (executable,
 * but neither ELF nor #!), glibc's execvp runs /bin/sh on it, so such a job ran as a shell
 * script and ended 127. Here ENOEXEC is the answer, as execve gives it, and the engine
 * says NOT_EXECUTABLE (126). The PATH search is execvp's: the job's PATH (glibc's
 * /bin:/usr/bin without one), each entry in order, an empty one meaning the working
 * directory; a refused entry (EACCES) is remembered while the search goes on, and any
 * other failure of a file that exists ends it. Returns only on failure, errno set.
 */
static void exec_search(char **command) {
  const char *file = command[0];
  if (strchr(file, '/')) {
    execv(file, command);
    return;
  }
  const char *path = getenv("PATH");
  if (!path) path = "/bin:/usr/bin";
  int denied = 0;
  char candidate[PATH_MAX];
  for (const char *entry = path;; ) {
    const char *end = strchrnul(entry, ':');
    int length = end == entry ? snprintf(candidate, sizeof candidate, "%s", file) : snprintf(candidate, sizeof candidate, "%.*s/%s", (int)(end - entry), entry, file);
    if (length >= 0 && (size_t)length < sizeof candidate) {
      execv(candidate, command);
      if (errno == EACCES) denied = 1;
      else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV && errno != ETIMEDOUT) return;
    }
    if (*end == '\0') break;
    entry = end + 1;
  }
  errno = denied ? EACCES : ENOENT;
}

void exec_command(const struct job_options *options, char **command, pid_t parent) {
  reset_signals();
  confine_process(options);
  /* Dies with its parent (the launcher, for a plain job): set again here, since a change
     of uid or gid (confine_process) clears it; and checked, since the parent may have
     died before. An exec of a set-user-ID program clears it too: the engine kills those
     (docs/design.md, "The start path"). */
  if (parent > 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("pdeathsig");
    if (getppid() != parent) _exit(127);
  }
  exec_search(command);
  die("exec");
}

/* ---- init ---- */

static void bring_loopback_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("loopback");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) die("loopback");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) die("loopback");
  if (close(fd) < 0) die("loopback");
}

/* A private tmpfs on `dir`; -1 with errno set. */
static int mount_private_tmp(const char *dir, const char *size) {
  char options[64];
  int n = snprintf(options, sizeof options, "mode=1777,size=%s", size);
  if (n < 0 || (size_t)n >= sizeof options) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, options);
}

/*
 * The command's own process, forked by init with init's signals still blocked. Init has
 * told it which forwarded signals were pending in init just after the fork (`early`).
 * Each of those either came before the fork, when the job's process group was init
 * alone (so the command never had it: it must get it now), or after, when the group's
 * copy reached this process too (pending here, blocked): those pending here already are
 * not raised again, so no signal is seen twice, and none sent before the command existed
 * is lost. Raised while blocked, they are delivered once exec_command unblocks them.
 */
static void command_process(const struct job_options *options, char **command, int channel) {
  /* Its failures (confinement, exec) go to init, which passes them on with their step. */
  report_to_fd(channel);
  uint32_t early;
  ssize_t n;
  while ((n = recv(channel, &early, sizeof early, MSG_WAITALL)) < 0 && errno == EINTR) {}
  if (n != (ssize_t)sizeof early) {
    if (n >= 0) errno = EPIPE;
    die("pipe");
  }
  sigset_t pending;
  if (sigpending(&pending) < 0) die("signals");
  for (size_t s = 0; s < FORWARDED_COUNT; s++) {
    int sig = FORWARDED[s];
    if ((early & (1u << sig)) && !sigismember(&pending, sig) && kill(getpid(), sig) < 0) die("signals");
  }
  /* Before the drop: it needs the capabilities this process still has in the job's user namespace. */
  if (options->ro_host) lock_mounts();
  exec_command(options, command, 1);
}

/* Reads the command's report (until its channel closes, at exec or exit): 1 and the
   step reported when it failed before its program ran, 0 when it got that far. */
static int read_command_failure(int channel, char step[32], int *err) {
  char text[128];
  size_t got = 0;
  for (;;) {
    ssize_t n = read(channel, text + got, sizeof text - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("pipe");
    if (n == 0 || (got += (size_t)n) == sizeof text - 1) break;
  }
  text[got] = '\0';
  if (got == 0) return 0;
  if (sscanf(text, "%31s %d", step, err) != 2) {
    snprintf(step, 32, "exec");
    *err = EPROTO;
  }
  return 1;
}

struct result run_init(const struct job_options *options, char **command) {
  /* Blocked since the clone (the launcher blocks them before any): whatever came since
     is pending, not dropped (the kernel drops only a signal an init neither blocks nor
     handles), and the signalfd reads it. */
  sigset_t set;
  init_signal_set(&set);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) die("signals");
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");

  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("mount-private");
  if (options->ro_host) {
    confine_mounts(options);
  } else {
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("mount-proc");
    if (mount_private_tmp("/tmp", options->tmp_size) < 0) die("mount-tmp");
    if (mount_private_tmp("/var/tmp", options->tmp_size) < 0) die("mount-var-tmp");
  }
  /* The working directory was entered before these mounts: under /tmp it would still be
     the host's directory, shared with the host and every job. Entered again by its path,
     it is the job's own (and a directory that exists only in the host's /tmp is not
     found here). */
  char here[PATH_MAX];
  if (!getcwd(here, sizeof here) || chdir(here) < 0) die("cwd-private");
  if (options->hostname && sethostname(options->hostname, strlen(options->hostname)) < 0) die("hostname");
  if (options->net_none) bring_loopback_up();

  int channel[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) < 0) die("pipe");
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    if (close(channel[0]) < 0) die("pipe");
    command_process(options, command, channel[1]);
  }
  if (close(channel[1]) < 0) die("pipe");

  /* Every forwarded signal pending now: those from before the fork, which the command
     never had, and maybe some since, which it has (see command_process). */
  uint32_t early = 0;
  struct signalfd_siginfo si;
  ssize_t n;
  while ((n = read(sfd, &si, sizeof si)) == (ssize_t)sizeof si)
    if (si.ssi_signo != SIGCHLD && si.ssi_signo < 32) early |= 1u << si.ssi_signo;
  if (n >= 0 || errno != EAGAIN) die("signalfd");
  /* EPIPE: the command is gone already (it is reaped below). */
  if (send(channel[0], &early, sizeof early, MSG_NOSIGNAL) != (ssize_t)sizeof early && errno != EPIPE) die("pipe");

  char step[32];
  int step_errno = 0;
  int failed = read_command_failure(channel[0], step, &step_errno);
  if (close(channel[0]) < 0) die("pipe");
  if (failed) report(step, step_errno);

  /*
   * The command runs. Reap until it ends (orphans re-parented to init are reaped on the
   * way), woken by the signalfd. A forwarded signal from outside the namespace (ssi_pid
   * 0) was sent to the job's process group, which the command is in: it has it already,
   * and a second copy would run its trap twice. One sent to PID 1 from inside is passed
   * on, as an init does. From here on nothing of init's can fail with the arguments it
   * gives; "init" names it should it ever.
   */
  struct result r = {2, 0};
  for (;;) {
    int status, done = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != child) continue;
      done = 1;
      if (!failed) {
        r.kind = WIFSIGNALED(status) ? 1 : 0;
        r.value = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
      }
    }
    if (done) break;
    if (pid < 0) die("init"); /* ECHILD: the command, unreaped, is a child */
    struct pollfd wake = {.fd = sfd, .events = POLLIN};
    if (poll(&wake, 1, -1) < 0) die("init");
    while ((n = read(sfd, &si, sizeof si)) == (ssize_t)sizeof si) {
      if (si.ssi_signo == SIGCHLD || si.ssi_pid == 0) continue;
      /* ESRCH: the command has just ended (it is reaped above, next). */
      if (kill(child, (int)si.ssi_signo) < 0 && errno != ESRCH) die("init");
    }
    if (n >= 0 || errno != EAGAIN) die("init");
  }
  /* The job is over when its command is: nothing it left behind may run on. ESRCH:
     nothing was left. */
  if (kill(-1, SIGKILL) < 0 && errno != ESRCH) die("init");
  for (;;) {
    pid_t pid = waitpid(-1, NULL, 0);
    if (pid > 0 || (pid < 0 && errno == EINTR)) continue;
    if (errno != ECHILD) die("init");
    break;
  }
  return r;
}
