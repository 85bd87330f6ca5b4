/*
 * jobworker-launcher: starts the engine's jobs for it, so that the server's thread never
 * forks (docs/design.md, "The start path"). One long-lived process per job pool:
 *
 *   jobworker-launcher REQUEST-FIFO REPLY-FIFO ENGINE-PID
 *
 * It makes both FIFOs (0600) and opens its ends without waiting for a peer, then says
 * "ready" on stdout; the engine opens the other ends (at once: ours are open) and removes
 * the names. No open of ours can block, so a launcher whose engine died at any moment
 * never hangs: it dies with it (PR_SET_PDEATHSIG, SIGTERM), killing its jobs.
 *
 * Requests come on REQUEST-FIFO, each a 4-byte little-endian length and that many bytes
 * of NUL-terminated strings:
 *     start HANDLE CWD STDOUT-PATH STDERR-PATH ISOLATE NET-NONE HOSTNAME TMP-SIZE
 *           UID GID GROUPS NCGROUPS CGROUP-PROCS-FILE... NENV NAME=VALUE... NARGV ARG...
 *       (UID empty: keep the launcher's user; ISOLATE and NET-NONE "0" or "1")
 *       answered at once on REPLY-FIFO, the engine waiting for it (a fork of this small
 *       process takes a fraction of a millisecond), with one line:
 *         started HANDLE PID STARTTIME
 *         exit HANDLE - - STEP ERRNO       (nothing was started: output, fork, …)
 *     start-async …   (the same, answered with the same line on stdout, in order
 *                      with the events: the engine goes on meanwhile)
 *     signal HANDLE SIGNO   (to the job's process group, while it is ours; no answer)
 * Ends are told on stdout, whenever they happen, one line each:
 *     exit HANDLE CODE|- SIGNO|- STEP|- ERRNO|-
 *       (STEP: what failed before the command ran: cgroup, chdir, exec, a step of the
 *        isolation…; then the job never ran)
 *
 * Why a separate process: a fork copies the forking process's page tables, and a Node
 * server's are large (a spawn blocks its thread for milliseconds); this process is
 * small, and its fork cheap. The output files are opened here, before the fork, so they
 * exist once the engine has its answer. Each child places itself in the job's cgroups
 * and changes directory before it runs anything of the job's, so the job is born inside
 * its cgroups. Isolated jobs are cloned straight into new namespaces: the launcher's
 * child is the job's init (PID 1), which forks the command.
 *
 * The launcher reaps its children. A job's process group is signalled only while its
 * leader is unreaped (so a recycled process group id is never hit), and is SIGKILLed
 * when the leader ends (nothing of a job outlives it). When the engine goes away (EOF on
 * REQUEST-FIFO, or SIGTERM when it dies), every job still running is killed, and the
 * launcher waits a bounded time for its children. Static, like jobworker-init.
 */
#define _GNU_SOURCE
#include "job-init.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (64u << 20)
#define MAX_STRINGS 200000

extern char **environ;

/* A job the launcher started and has not reaped yet. */
struct job {
  char handle[24];
  pid_t pid;
  int report_fd; /* read end of the child's STATUS_FD */
};

static struct job *jobs;
static int reply_fd = -1;
/* Set in main, before any fork: the children know who their launcher is. */
static pid_t launcher_pid;
/* The launcher's own command line, rewritten in an init child (see `name_init`). */
static char *args_start, *args_end;
static size_t njobs, jobs_cap;

static void kill_all_and_exit(void) __attribute__((noreturn));

static void write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* The engine is gone: its jobs must not run on unsupervised. */
      if (getpid() == launcher_pid) kill_all_and_exit();
      _exit(1);
    }
    data += n;
    len -= (size_t)n;
  }
}

static void emit(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(int fd, const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0) write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* The request's fields, in order. */
struct fields {
  char **at;
  size_t count, next;
};

static const char *field(struct fields *f) { return f->next < f->count ? f->at[f->next++] : NULL; }

/* Moves `fd` onto `target` (closing the original when they differ). */
static void move_fd(int fd, int target) {
  if (fd == target) {
    fcntl(fd, F_SETFD, 0);
    return;
  }
  if (dup2(fd, target) < 0) die("fd");
  close(fd);
}

/*
 * An init cloned from the launcher would show the launcher's name and arguments (the
 * data directory's paths) to the job in `ps` and /proc/1/cmdline: it calls itself
 * jobworker-init instead, as the helper of jobs started by the engine is called.
 */
static void name_init(void) {
  static const char name[] = "jobworker-init";
  prctl(PR_SET_NAME, name);
  if ((size_t)(args_end - args_start) < sizeof name) return;
  memset(args_start, 0, (size_t)(args_end - args_start));
  memcpy(args_start, name, sizeof name);
  /* The kernel reads the command line up to the first NUL once the area's last byte is one. */
  prctl(PR_SET_MM, PR_SET_MM_ARG_END, (unsigned long)(args_start + sizeof name), 0, 0);
}

static void read_start_time(pid_t pid, char *out, size_t size) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  snprintf(out, size, "-");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return;
  p += 2; /* field 3 */
  for (int field_no = 3; field_no < 22 && p; field_no++) {
    p = strchr(p, ' ');
    if (p) p++;
  }
  if (!p) return;
  size_t len = strcspn(p, " ");
  if (len >= size) return;
  memcpy(out, p, len);
  out[len] = 0;
}

/* A parsed start request: pointers into the frame it came in. */
struct start_request {
  const char *handle, *cwd, *out, *err;
  int isolate;
  char **cgroups, **envp, **argv;
  size_t ncgroups;
  struct job_options options;
};

static char **take_list(struct fields *f, size_t *count) {
  const char *n = field(f);
  if (!n) return NULL;
  size_t len = strtoul(n, NULL, 10);
  if (len > f->count - f->next) return NULL;
  char **list = calloc(len + 1, sizeof *list);
  if (!list) return NULL;
  for (size_t i = 0; i < len; i++) list[i] = (char *)field(f);
  if (count) *count = len;
  return list;
}

static void free_request(struct start_request *r) {
  free(r->cgroups);
  free(r->envp);
  free(r->argv);
}

/* Parses the fields after "start"; 0 when the request is whole. */
static int parse_start(struct fields *f, struct start_request *r) {
  memset(r, 0, sizeof *r);
  r->handle = field(f), r->cwd = field(f), r->out = field(f), r->err = field(f);
  const char *isolate = field(f), *net_none = field(f), *hostname = field(f), *tmp_size = field(f);
  const char *uid = field(f), *gid = field(f), *groups = field(f);
  size_t nargv = 0;
  r->cgroups = take_list(f, &r->ncgroups);
  r->envp = take_list(f, NULL);
  r->argv = take_list(f, &nargv);
  if (!r->handle || strlen(r->handle) >= sizeof jobs->handle || !r->cwd || !r->out || !r->err || !isolate || !net_none || !hostname ||
      !tmp_size || !uid || !gid || !groups || !r->cgroups || !r->envp || !r->argv || nargv == 0)
    return -1;
  r->isolate = isolate[0] == '1';
  r->options.hostname = *hostname ? hostname : NULL;
  r->options.tmp_size = tmp_size;
  r->options.net_none = net_none[0] == '1';
  if (*uid) {
    r->options.drop = 1;
    r->options.uid = (uid_t)strtoul(uid, NULL, 10);
    r->options.gid = (gid_t)strtoul(gid, NULL, 10);
    r->options.ngroups = parse_groups(groups, r->options.groups);
  }
  return 0;
}

/* Splits a frame into its NUL-terminated strings; 0 when it is well formed. */
static int split_frame(char *data, size_t len, struct fields *f) {
  static char *strings[MAX_STRINGS];
  f->at = strings;
  f->count = f->next = 0;
  size_t i = 0;
  while (i < len && f->count < MAX_STRINGS) {
    strings[f->count++] = data + i;
    char *end = memchr(data + i, 0, len - i);
    if (!end) return -1;
    i = (size_t)(end - data) + 1;
  }
  return 0;
}

/*
 * First steps of every new process of ours: STATUS_FD in place (close-on-exec, so the
 * command never holds it), signals unblocked, a process group of its own, and for an
 * init, death with the launcher and its own name. Descriptors listed in `keep` are moved
 * out of STATUS_FD's way first.
 */
static void prepare_process(int isolate, int report_w, int *keep, int nkeep) {
  for (int i = 0; i < nkeep; i++)
    if (keep[i] == STATUS_FD) keep[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, STATUS_FD + 1);
  if (report_w != STATUS_FD) {
    if (dup2(report_w, STATUS_FD) < 0) _exit(127);
    close(report_w);
  }
  fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC);
  /* An init catches its signals before it takes them (see catch_init_signals); anything
     else is as a command expects it. */
  if (isolate) {
    catch_init_signals();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
  } else {
    reset_signals();
  }
  setpgid(0, 0);
  if (isolate) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    name_init();
  }
}

/* Closes every descriptor from `first` up: an init never execs, so close-on-exec would not. */
static void close_from(int first) {
  if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0) return;
  for (int fd = first; fd < 1024; fd++) close(fd);
}

/* Everything the job needs before its command runs, in its first process. Never returns. */
static void run_job(const struct start_request *r, int o, int e) {
  /* Into the job's cgroups before anything of the job's runs: "0" is the writer itself. */
  for (size_t i = 0; i < r->ncgroups; i++) {
    int fd = open(r->cgroups[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) die("cgroup");
    close(fd);
  }
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0) die("stdin");
  /* In an order that never closes a descriptor still to be moved. */
  int fds[3] = {in, o, e};
  for (int target = 0; target < 3; target++) {
    for (int later = target + 1; later < 3; later++) {
      if (fds[later] == target) {
        fds[later] = fcntl(target, F_DUPFD_CLOEXEC, STATUS_FD + 1);
        if (fds[later] < 0) die("fd");
        close(target);
      }
    }
    move_fd(fds[target], target);
  }
  /* Nothing of the launcher's (its FIFOs, other jobs' pipes) may stay open in the job. */
  close_from(STATUS_FD + 1);
  if (chdir(r->cwd) < 0) die("chdir");
  environ = r->envp;
  if (!r->isolate) exec_command(&r->options, r->argv, -1);
  struct result result = run_init(&r->options, r->argv);
  char line[64];
  int n = snprintf(line, sizeof line, "result %d %d\n", result.kind, result.value);
  (void)!write(STATUS_FD, line, (size_t)n);
  _exit(0);
}

/*
 * Spares: children of the two common kinds (plain, and isolated without a network
 * namespace) made ahead of demand, each waiting on a socket for its job. A fork, and
 * above all the namespaces a clone makes, take milliseconds: with a spare ready, a start
 * is answered at once. Spares are made by the nursery, a child of the launcher that
 * clones them with CLONE_PARENT (so they are the launcher's children, reaped and
 * signalled by it) and passes their descriptors over a socket, so that making them never
 * holds up the launcher's answers. A spare gets the start request and the output files'
 * descriptors (SCM_RIGHTS). Up to SPARES_PER_KIND wait for each kind, once it was used.
 */
#define SPARES_PER_KIND 4
struct spare {
  pid_t pid;
  int sock;
  int report_fd;
  char start_time[32];
};
enum { PLAIN = 0, ISOLATED = 1 };
static struct spare ready[2][SPARES_PER_KIND];
static int nready[2], asked[2];
static int nursery_fd = -1;
static pid_t nursery_pid;

/* What the nursery tells of a spare it made (its descriptors ride along). */
struct spare_note {
  int kind;
  pid_t pid; /* 0: it could not make one */
  char start_time[32];
};

static int spare_namespace_flags(void) {
  struct job_options none = {0};
  return job_namespace_flags(&none);
}

/* In the spare: waits for its job, then runs it. Never returns. */
static void spare_main(int kind, int sock, int report_w) {
  int keep[1] = {sock};
  prepare_process(kind == ISOLATED, report_w, keep, 1);
  sock = keep[0];
  /* None of the launcher's standard descriptors (the engine's pipe): a spare outlives
     the launcher only until it reads its socket's end. */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    for (int fd = 0; fd < 3; fd++)
      if (fd != null) dup2(null, fd);
    if (null > 2) close(null);
  }
  uint32_t len;
  int received[2];
  char control[CMSG_SPACE(sizeof received)];
  struct iovec iov = {.iov_base = &len, .iov_len = sizeof len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
  if (n != (ssize_t)sizeof len) _exit(0); /* the launcher is gone, or let us go */
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof received)) _exit(0);
  memcpy(received, CMSG_DATA(cmsg), sizeof received);
  char *frame = len <= MAX_FRAME ? malloc(len) : NULL;
  if (!frame) die("request");
  for (size_t got = 0; got < len;) {
    ssize_t r = read(sock, frame + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(0);
    got += (size_t)r;
  }
  close(sock);
  struct fields f;
  struct start_request request;
  if (split_frame(frame, len, &f) < 0 || !field(&f) || parse_start(&f, &request) < 0) die("request");
  run_job(&request, received[0], received[1]);
}

/* In the nursery: makes a spare of `kind` and tells the launcher. */
static void nurse(int launcher, int kind) {
  struct spare_note note = {.kind = kind};
  int sv[2] = {-1, -1}, report[2] = {-1, -1};
  pid_t pid = -1;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0 && pipe2(report, O_CLOEXEC) == 0) {
    unsigned long flags = CLONE_PARENT | SIGCHLD | (kind == ISOLATED ? (unsigned long)spare_namespace_flags() : 0);
    pid = (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
    if (pid == 0) {
      close(launcher);
      close(sv[0]);
      close(report[0]);
      spare_main(kind, sv[1], report[1]);
    }
  }
  if (sv[1] >= 0) close(sv[1]);
  if (report[1] >= 0) close(report[1]);
  int fds[2] = {sv[0], report[0]};
  char control[CMSG_SPACE(sizeof fds)];
  memset(control, 0, sizeof control);
  struct iovec iov = {.iov_base = &note, .iov_len = sizeof note};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (pid > 0) {
    note.pid = pid;
    read_start_time(pid, note.start_time, sizeof note.start_time);
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
  }
  while (sendmsg(launcher, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {}
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0) close(fds[i]);
}

/* The nursery's loop: one byte (a kind) in, one spare out. Never returns. */
static void nursery_main(int launcher) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (launcher != STATUS_FD + 1) {
    if (dup2(launcher, STATUS_FD + 1) < 0) _exit(1);
    launcher = STATUS_FD + 1;
  }
  close_from(STATUS_FD + 2);
  close(STATUS_FD);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    if (null > 2) close(null);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (;;) {
    char kind;
    ssize_t n = recv(launcher, &kind, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0);
    nurse(launcher, kind == ISOLATED ? ISOLATED : PLAIN);
  }
}

static void start_nursery(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    nursery_main(sv[1]);
  }
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return;
  }
  nursery_pid = pid;
  nursery_fd = sv[0];
}

/* Asks the nursery for spares of `kind` until enough are ready or on their way. */
static void top_up(int kind) {
  if (nursery_fd < 0) return;
  char byte = (char)kind;
  while (nready[kind] + asked[kind] < SPARES_PER_KIND) {
    if (send(nursery_fd, &byte, 1, MSG_NOSIGNAL) != 1) return;
    asked[kind]++;
  }
}

/* A spare the nursery made: ready for the next start of its kind. */
static void receive_spare(void) {
  struct spare_note note;
  int fds[2];
  char control[CMSG_SPACE(sizeof fds)];
  struct iovec iov = {.iov_base = &note, .iov_len = sizeof note};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n = recvmsg(nursery_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n != (ssize_t)sizeof note || note.kind < 0 || note.kind > 1) {
    /* The nursery is gone: starts fork or clone for themselves from now on. */
    close(nursery_fd);
    nursery_fd = -1;
    return;
  }
  asked[note.kind]--;
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  if (note.pid <= 0 || !cmsg || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof fds)) return;
  memcpy(fds, CMSG_DATA(cmsg), sizeof fds);
  setpgid(note.pid, note.pid);
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  if (nready[note.kind] == SPARES_PER_KIND) {
    kill(note.pid, SIGKILL);
    close(fds[0]);
    close(fds[1]);
    return;
  }
  struct spare *spare = &ready[note.kind][nready[note.kind]++];
  spare->pid = note.pid;
  spare->sock = fds[0];
  spare->report_fd = fds[1];
  snprintf(spare->start_time, sizeof spare->start_time, "%s", note.start_time);
}

/* Hands the job to a ready spare of `kind`; its pid, or -1 (none ready, or it is gone). */
static pid_t hand_to_spare(int kind, char *frame, uint32_t len, int o, int e, int *report_fd, char *start_time, size_t size) {
  if (nready[kind] == 0) return -1;
  struct spare taken = ready[kind][--nready[kind]];
  int fds[2] = {o, e};
  char control[CMSG_SPACE(sizeof fds)];
  memset(control, 0, sizeof control);
  struct iovec iov = {.iov_base = &len, .iov_len = sizeof len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
  ssize_t sent;
  while ((sent = sendmsg(taken.sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  int ok = sent == (ssize_t)sizeof len;
  for (size_t done = 0; ok && done < len;) {
    ssize_t w = send(taken.sock, frame + done, len - done, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ok = 0;
    else done += (size_t)w;
  }
  close(taken.sock);
  if (!ok) {
    /* The spare died unused: it is reaped as a stranger. */
    kill(taken.pid, SIGKILL);
    close(taken.report_fd);
    return -1;
  }
  *report_fd = taken.report_fd;
  snprintf(start_time, size, "%s", taken.start_time);
  return taken.pid;
}

static void start(struct fields *f, char *frame, uint32_t len, int reply_fd) {
  struct start_request r;
  if (parse_start(f, &r) < 0) {
    if (r.handle && strlen(r.handle) < sizeof jobs->handle) emit(reply_fd, "exit %s - - request %d\n", r.handle, EINVAL);
    free_request(&r);
    return;
  }
  const char *handle = r.handle;
  int kind = !r.isolate ? PLAIN : !r.options.net_none ? ISOLATED : -1;
  if (njobs == jobs_cap) {
    size_t cap = jobs_cap ? jobs_cap * 2 : 64;
    struct job *grown = realloc(jobs, cap * sizeof *jobs);
    if (!grown) {
      emit(reply_fd, "exit %s - - fork %d\n", handle, ENOMEM);
      goto done;
    }
    jobs = grown;
    jobs_cap = cap;
  }
  /* Opened here, so that they exist (and a full disk is known) once the engine is answered. */
  int o = open(r.out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  int e = o < 0 ? -1 : open(r.err, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (e < 0) {
    emit(reply_fd, "exit %s - - output %d\n", handle, errno);
    if (o >= 0) close(o);
    goto done;
  }
  char start_time[32];
  int report_fd = -1;
  pid_t pid = kind >= 0 ? hand_to_spare(kind, frame, len, o, e, &report_fd, start_time, sizeof start_time) : -1;
  if (pid < 0) {
    /* No spare (network none, or it failed): fork or clone for this job now. */
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
      emit(reply_fd, "exit %s - - fork %d\n", handle, errno);
      close(o);
      close(e);
      goto done;
    }
    pid = r.isolate ? (pid_t)syscall(SYS_clone, (unsigned long)(job_namespace_flags(&r.options) | SIGCHLD), 0, 0, 0, 0) : fork();
    if (pid == 0) {
      close(report[0]);
      int keep[2] = {o, e};
      prepare_process(r.isolate, report[1], keep, 2);
      run_job(&r, keep[0], keep[1]);
    }
    int fork_errno = errno;
    close(report[1]);
    if (pid < 0) {
      close(report[0]);
      close(o);
      close(e);
      emit(reply_fd, "exit %s - - %s %d\n", handle, r.isolate ? "unshare" : "fork", fork_errno);
      goto done;
    }
    /* Also here, so that a signal sent before the child ran finds its group. */
    setpgid(pid, pid);
    fcntl(report[0], F_SETFL, O_NONBLOCK);
    report_fd = report[0];
    read_start_time(pid, start_time, sizeof start_time);
  }
  close(o);
  close(e);
  struct job *job = &jobs[njobs++];
  snprintf(job->handle, sizeof job->handle, "%s", handle);
  job->pid = pid;
  job->report_fd = report_fd;
  emit(reply_fd, "started %s %d %s\n", handle, (int)pid, start_time);
  /* After the answer; the nursery makes them while the launcher goes on. */
  if (kind >= 0) top_up(kind);
done:
  free_request(&r);
}

static struct job *find_handle(const char *handle) {
  for (size_t i = 0; i < njobs; i++)
    if (strcmp(jobs[i].handle, handle) == 0) return &jobs[i];
  return NULL;
}

static void signal_job(struct fields *f) {
  const char *handle = field(f), *signo = field(f);
  if (!handle || !signo) return;
  struct job *job = find_handle(handle);
  /* Unreaped, so its process group id is still this job's. */
  if (job) kill(-job->pid, atoi(signo));
}

/* How the leader ended, and the first failure its report names. */
static void report_exit(struct job *job, int status) {
  char text[1024];
  ssize_t n = read(job->report_fd, text, sizeof text - 1);
  close(job->report_fd);
  text[n > 0 ? n : 0] = 0;
  char step[32] = "-";
  int step_errno = -1, kind = -1, value = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    int a, b;
    char word[32];
    if (sscanf(line, "result %d %d", &a, &b) == 2) {
      kind = a;
      value = b;
    } else if (strcmp(step, "-") == 0 && sscanf(line, "%31s %d", word, &a) == 2) {
      snprintf(step, sizeof step, "%s", word);
      step_errno = a;
    }
  }
  if (strcmp(step, "-") != 0) emit(1, "exit %s - - %s %d\n", job->handle, step, step_errno);
  else if (WIFSIGNALED(status)) emit(1, "exit %s - %d - -\n", job->handle, WTERMSIG(status));
  else if (kind == 1) emit(1, "exit %s - %d - -\n", job->handle, value);
  else if (kind == 0) emit(1, "exit %s %d - - -\n", job->handle, value);
  else emit(1, "exit %s %d - - -\n", job->handle, WEXITSTATUS(status));
}

static void reap(void) {
  for (;;) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    /* Seen, not reaped: its process group id cannot be reused while we kill its strays. */
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid == 0) return;
    pid_t pid = info.si_pid;
    kill(-pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    for (size_t i = 0; i < njobs; i++) {
      if (jobs[i].pid != pid) continue;
      report_exit(&jobs[i], status);
      jobs[i] = jobs[--njobs];
      break;
    }
    /* A spare that died unused: another is asked for at the next start of its kind. */
    for (int k = 0; k < 2; k++) {
      for (int s = 0; s < nready[k]; s++) {
        if (ready[k][s].pid != pid) continue;
        close(ready[k][s].sock);
        close(ready[k][s].report_fd);
        ready[k][s] = ready[k][--nready[k]];
        break;
      }
    }
    if (pid == nursery_pid) nursery_pid = 0;
  }
}

static void handle_frame(char *data, size_t len) {
  struct fields f;
  if (split_frame(data, len, &f) < 0) return;
  const char *kind = field(&f);
  if (!kind) return;
  if (strcmp(kind, "start") == 0) start(&f, data, (uint32_t)len, reply_fd);
  /* Answered with the events on stdout: the engine does not wait for it. */
  else if (strcmp(kind, "start-async") == 0) start(&f, data, (uint32_t)len, 1);
  else if (strcmp(kind, "signal") == 0) signal_job(&f);
}

/* How long the launcher waits for its killed children before it exits anyway. */
#define REAP_LIMIT_MS 5000

/* The launcher's signalfd (SIGCHLD, SIGTERM), set up before anything can end it. */
static int sigchld_fd = -1;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * The engine is gone (or closes the pool): nothing of ours may run on unsupervised. Spares
 * still on their way from the nursery are this process's children too, known to nobody
 * yet: closing the nursery's socket drops the descriptors in flight, so they see their
 * socket's end and exit. Reaping lets the engine know, when it sees this process exit,
 * that nothing of the pool runs any more; bounded, since a process in a frozen cgroup or
 * stuck in the kernel cannot die now, and a launcher that never exits would hold up its
 * engine's close for good.
 */
static void kill_all_and_exit(void) {
  if (nursery_fd >= 0) close(nursery_fd);
  if (nursery_pid > 0) kill(nursery_pid, SIGKILL);
  for (size_t i = 0; i < njobs; i++) kill(-jobs[i].pid, SIGKILL);
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < nready[k]; i++) {
      kill(ready[k][i].pid, SIGKILL);
      close(ready[k][i].sock);
    }
  /* Woken by each SIGCHLD (the signalfd), until none is left or the time is up. */
  struct pollfd chld = {.fd = sigchld_fd, .events = POLLIN};
  long long deadline = now_ms() + REAP_LIMIT_MS;
  for (long long left = REAP_LIMIT_MS; left > 0; left = deadline - now_ms()) {
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {}
    if (pid < 0 && errno == ECHILD) break;
    poll(&chld, 1, (int)left);
    struct signalfd_siginfo si;
    while (read(sigchld_fd, &si, sizeof si) > 0) {}
  }
  _exit(0);
}

/* Makes the FIFO `path` afresh (0600), for the engine alone. */
static int make_fifo(const char *path) {
  unlink(path);
  return mkfifo(path, 0600);
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  launcher_pid = getpid();
  args_start = argv[0];
  args_end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
  /* A write to a vanished engine fails with EPIPE instead of killing us silently. */
  signal(SIGPIPE, SIG_IGN);
  /* Our clones start with a handler for what their init will forward (a stop sent before
     the init caught it would be dropped by the kernel otherwise); SIGTERM is read below. */
  hold_init_signals();
  /* SIGCHLD (a child ended) and SIGTERM (the engine died, or someone asks us to end) are
     read from a descriptor in the loop below. */
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  int sfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return 1;
  sigchld_fd = sfd;
  /* Dies with the engine, even one that dies before it ever opened the FIFOs. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != (pid_t)strtol(argv[3], NULL, 10)) return 1;
  fcntl(1, F_SETFD, FD_CLOEXEC);
  if (make_fifo(argv[1]) < 0 || make_fifo(argv[2]) < 0) return 1;
  /* Neither open waits for the engine: the request end is opened O_NONBLOCK, the reply
     end read-write (a writer that is also a reader). The request end reports nothing to
     poll until the engine's writer came, and its end-of-file once that writer left. */
  int requests = open(argv[1], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  reply_fd = open(argv[2], O_RDWR | O_CLOEXEC);
  if (requests < 0 || reply_fd < 0) return 1;
  emit(1, "ready\n");
  size_t cap = 1 << 16, used = 0;
  char *buf = malloc(cap);
  if (!buf) return 1;
  start_nursery();
  struct pollfd fds[3] = {{.fd = requests, .events = POLLIN}, {.fd = sfd, .events = POLLIN}, {.fd = nursery_fd, .events = POLLIN}};
  for (;;) {
    fds[2].fd = nursery_fd;
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[2].revents && nursery_fd >= 0) receive_spare();
    if (fds[1].revents) {
      struct signalfd_siginfo si;
      int terminate = 0;
      while (read(sfd, &si, sizeof si) > 0)
        if (si.ssi_signo == SIGTERM) terminate = 1;
      reap();
      if (terminate) kill_all_and_exit();
    }
    if (fds[0].revents) {
      if (used == cap) {
        cap *= 2;
        char *grown = realloc(buf, cap);
        if (!grown) kill_all_and_exit();
        buf = grown;
      }
      ssize_t n = read(requests, buf + used, cap - used);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) kill_all_and_exit();
      used += (size_t)n;
      size_t at = 0;
      while (used - at >= 4) {
        uint32_t len;
        memcpy(&len, buf + at, 4);
        if (len > MAX_FRAME) kill_all_and_exit();
        if (used - at - 4 < len) {
          if (len + 4 > cap) {
            size_t want = len + 4;
            char *grown = realloc(buf, want);
            if (!grown) kill_all_and_exit();
            buf = grown;
            cap = want;
          }
          break;
        }
        handle_frame(buf + at + 4, len);
        at += 4 + len;
      }
      memmove(buf, buf + at, used - at);
      used -= at;
    }
  }
}
