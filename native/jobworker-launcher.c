/*
 * jobworker-launcher: starts the engine's jobs for it, so that the server's thread never
 * forks (docs/design.md, "The start path"). One long-lived process per job pool:
 *
 *   jobworker-launcher ENGINE-PID
 *
 * Protocol version 2; the contract with src/engine/start/launcher.ts is native/PROTOCOL.md.
 * In short: requests come on fd 0 (a stream socket of Node's spawn), each a 4-byte
 * little-endian length and that many bytes of NUL-terminated strings ("start ...",
 * "signal HANDLE SIGNO", "stdin-attached HANDLE"); events go out on fd 1, one line each:
 * first "hello jobworker-launcher 3", then "started HANDLE PID STARTTIME" or
 * "exit HANDLE - - STEP ERRNO" answering each start, in order, and
 * "exit HANDLE CODE|- SIGNO|- STEP|- ERRNO|-" when a job ends. STEP names what failed
 * before the command ran (then the job never ran); every STEP is a literal in a die() or
 * report() call of the native sources, listed in src/engine/start/start-steps.ts.
 *
 * The launcher never blocks on its engine: both descriptors are non-blocking, events go
 * to a queue flushed whenever fd 1 is writable, and while the queue holds more than
 * 1 MiB no request is read (so no new answer is made), while children are still reaped
 * and spares received. A write error (the engine is gone), EOF on fd 0, or SIGTERM (the
 * engine died: PR_SET_PDEATHSIG) kill every job, and the launcher exits (bounded reap).
 *
 * Why a separate process: a fork copies the forking process's page tables, and a Node
 * server's are large (a spawn blocks its thread for milliseconds); this process is
 * small, and its fork cheap. A job's stdin FIFO is opened here, before the fork; its
 * output files are made by its first process (creating a file costs a millisecond of CPU
 * on some file systems: there it runs beside other starts), through descriptors of their
 * directories opened here, on the host's mounts. Each child places itself
 * in the job's cgroups before it runs anything of the job's, then changes directory, so
 * the job is born inside its cgroups. Isolated jobs are cloned straight into new
 * namespaces: the launcher's child is the job's init (PID 1), which forks the command.
 * Plain jobs die with the launcher (PR_SET_PDEATHSIG), as isolated inits do.
 *
 * Signals: the launcher keeps the signals an init forwards blocked (and SIGCHLD, SIGTERM,
 * which it reads from a signalfd), so that every clone starts with them blocked: one sent
 * to a job's init before it is ready stays pending (the kernel drops only those an init
 * neither blocks nor handles), and init reads them from a signalfd of its own.
 *
 * The launcher reaps its children. A job's process group is signalled only while its
 * leader is unreaped (so a recycled process group id is never hit), and is SIGKILLed
 * when the leader ends, before it is reaped (nothing of a job outlives it). Static, so
 * that no dynamic loader runs in it or its children while they are root (LD_PRELOAD of a
 * job's environment).
 */
#define _GNU_SOURCE
#include "job-init.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (64u << 20)
#define MAX_STRINGS 200000
/* Above this many bytes of events waiting for the engine, no request is read. */
#define QUEUE_LIMIT (1u << 20)
#define HANDLE_SIZE 24
/* Requests handled between two looks at the other descriptors. */
#define FRAMES_PER_TURN 64

extern char **environ;

/* A job the launcher started and has not reaped yet. */
struct job {
  char handle[HANDLE_SIZE];
  pid_t pid;
  int report_fd;  /* read end of the child's STATUS_FD */
  int stdin_hold; /* our write end of the job's stdin FIFO until the engine has its own, or -1 */
};

static struct job *jobs;
static size_t njobs, jobs_cap;
/* Set in main, before any fork: the children know who their launcher is. */
static pid_t launcher_pid;
/* The launcher's own command line, rewritten in an init child (see `name_init`). */
static char *args_start, *args_end;
/* /dev/null, the stdin of jobs without one. */
static int null_fd = -1;

static void kill_all_and_exit(void) __attribute__((noreturn));

/* ---- Events: a queue, never a blocking write ---- */

static char *events;
static size_t events_off, events_len, events_cap;

static size_t queued(void) { return events_len - events_off; }

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* Cannot happen: handles, steps and numbers are short. */
  if (n <= 0 || (size_t)n >= sizeof line) kill_all_and_exit();
  if (events_len + (size_t)n > events_cap && events_off > 0) {
    memmove(events, events + events_off, queued());
    events_len -= events_off;
    events_off = 0;
  }
  if (events_len + (size_t)n > events_cap) {
    size_t cap = events_cap ? events_cap * 2 : 1 << 16;
    char *grown = realloc(events, cap);
    if (!grown) kill_all_and_exit();
    events = grown;
    events_cap = cap;
  }
  memcpy(events + events_len, line, (size_t)n);
  events_len += (size_t)n;
}

/* Writes what fd 1 takes now. A failure other than "full" means the engine is gone. */
static void flush_events(void) {
  while (queued() > 0) {
    ssize_t n = write(1, events + events_off, queued());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      kill_all_and_exit();
    }
    events_off += (size_t)n;
  }
  events_off = events_len = 0;
  /* A burst made it large: give it back. */
  if (events_cap > 4 * QUEUE_LIMIT) {
    free(events);
    events = NULL;
    events_cap = 0;
  }
}

/* ---- Requests ---- */

/* The request's fields, in order. */
struct fields {
  char **at;
  size_t count, next;
};

static const char *field(struct fields *f) { return f->next < f->count ? f->at[f->next++] : NULL; }

/* Splits a frame into its NUL-terminated strings; 0 when it is well formed. Either way
   `f` holds the terminated strings found (a last one without its NUL is left out). */
static int split_frame(char *data, size_t len, struct fields *f) {
  static char *strings[MAX_STRINGS];
  f->at = strings;
  f->count = f->next = 0;
  for (size_t i = 0; i < len;) {
    if (f->count == MAX_STRINGS) return -1;
    char *end = memchr(data + i, 0, len - i);
    if (!end) return -1;
    strings[f->count++] = data + i;
    i = (size_t)(end - data) + 1;
  }
  return 0;
}

/* A handle goes back in event lines: printable, no space, short. */
static int valid_handle(const char *handle) {
  size_t len = handle ? strlen(handle) : 0;
  if (len == 0 || len >= HANDLE_SIZE) return 0;
  for (size_t i = 0; i < len; i++)
    if (handle[i] <= ' ' || handle[i] > '~') return 0;
  return 1;
}

/* A parsed start request: pointers into the frame it came in. */
struct start_request {
  const char *handle, *cwd, *out, *err, *in;
  int isolate;
  char **cgroups, **envp, **argv;
  size_t ncgroups;
  struct job_options options;
};

/* "N" then N fields, as a NULL-terminated list; 0, EINVAL or ENOMEM. */
static int take_list(struct fields *f, char ***list, size_t *count) {
  unsigned long len;
  if (parse_uint(field(f), f->count - f->next, &len) < 0) return EINVAL;
  *list = calloc(len + 1, sizeof **list);
  if (!*list) return ENOMEM;
  for (size_t i = 0; i < len; i++) (*list)[i] = (char *)field(f);
  if (count) *count = len;
  return 0;
}

static void free_request(struct start_request *r) {
  free(r->cgroups);
  free(r->envp);
  free(r->argv);
  free(r->options.masks);
  free(r->options.writable);
}

/* "0" or "1", strictly. */
static int parse_flag(const char *text, int *out) {
  if (!text || (strcmp(text, "0") != 0 && strcmp(text, "1") != 0)) return -1;
  *out = text[0] == '1';
  return 0;
}

static int is_key(const char *option, size_t key_len, const char *key) {
  return key_len == strlen(key) && memcmp(option, key, key_len) == 0;
}

/* The NOPT KEY=VALUE options (native/PROTOCOL.md); 0, EINVAL or ENOMEM. */
static int parse_options(struct fields *f, struct start_request *r) {
  struct job_options *o = &r->options;
  unsigned long n;
  if (parse_uint(field(f), f->count - f->next, &n) < 0) return EINVAL;
  o->masks = calloc(n + 1, sizeof *o->masks);
  o->writable = calloc(n + 1, sizeof *o->writable);
  if (!o->masks || !o->writable) return ENOMEM;
  int has_confine = 0, has_ro_host = 0;
  for (unsigned long i = 0; i < n; i++) {
    const char *option = field(f), *eq = strchr(option, '=');
    if (!eq) return EINVAL;
    size_t key_len = (size_t)(eq - option);
    const char *value = eq + 1;
    if (is_key(option, key_len, "confine")) {
      if (has_confine++ || parse_flag(value, &o->confine) < 0) return EINVAL;
    } else if (is_key(option, key_len, "ro-host")) {
      if (has_ro_host++ || parse_flag(value, &o->ro_host) < 0) return EINVAL;
    } else if (value[0] != '/') {
      return EINVAL; /* every other option is an absolute path */
    } else if (is_key(option, key_len, "home")) {
      if (o->home_source) return EINVAL;
      o->home_source = value;
    } else if (is_key(option, key_len, "home-target")) {
      if (o->home_target) return EINVAL;
      o->home_target = value;
    } else if (is_key(option, key_len, "mask")) {
      o->masks[o->nmasks++] = (char *)value;
    } else if (is_key(option, key_len, "writable")) {
      o->writable[o->nwritable++] = (char *)value;
    } else {
      return EINVAL;
    }
  }
  return 0;
}

/*
 * Parses the fields after "start"; 0 when the request is whole and sound, else EINVAL
 * (or ENOMEM). r->handle is set whenever the request had one.
 */
static int parse_start(struct fields *f, struct start_request *r) {
  memset(r, 0, sizeof *r);
  r->handle = field(f), r->cwd = field(f), r->out = field(f), r->err = field(f), r->in = field(f);
  const char *isolate = field(f), *net_none = field(f), *hostname = field(f), *tmp_size = field(f);
  const char *uid = field(f), *gid = field(f), *groups = field(f);
  if (!groups) return EINVAL; /* the last of the fixed fields: all are there */
  struct job_options *o = &r->options;
  unsigned long number;
  if (parse_flag(isolate, &r->isolate) < 0 || parse_flag(net_none, &o->net_none) < 0) return EINVAL;
  if (parse_uint(tmp_size, ULONG_MAX, &number) < 0) return EINVAL;
  o->tmp_size = tmp_size;
  o->hostname = *hostname ? hostname : NULL;
  /* UID and GID both empty (the launcher's user, and then no GROUPS) or both numbers. */
  if (*uid || *gid || *groups) {
    o->drop = 1;
    if (parse_uint(uid, MAX_ID, &number) < 0) return EINVAL;
    o->uid = (uid_t)number;
    if (parse_uint(gid, MAX_ID, &number) < 0) return EINVAL;
    o->gid = (gid_t)number;
    if ((o->ngroups = parse_groups(groups, o->groups)) < 0) return EINVAL;
  }
  size_t nargv = 0;
  int err;
  if ((err = take_list(f, &r->cgroups, &r->ncgroups)) || (err = take_list(f, &r->envp, NULL)) ||
      (err = take_list(f, &r->argv, &nargv)) || (err = parse_options(f, r)))
    return err;
  /* Nothing may follow; a command is needed; what only an isolated job can have, only it has. */
  if (f->next != f->count || nargv == 0) return EINVAL;
  if (!r->isolate && (o->net_none || o->ro_host || o->hostname)) return EINVAL;
  /* A mask can only be made where the host is remounted (ro-host): asked for without it,
     the job would see what the engine meant to hide. */
  if (o->nmasks > 0 && !o->ro_host) return EINVAL;
  return 0;
}

/* ---- Children ---- */

/* Moves `fd` onto `target` (closing the original when they differ), without close-on-exec. */
static void move_fd(int fd, int target) {
  if (fd == target) {
    if (fcntl(fd, F_SETFD, 0) < 0) die("fd");
    return;
  }
  if (dup2(fd, target) < 0 || close(fd) < 0) die("fd");
}

/*
 * An init cloned from the launcher would show the launcher's name and arguments to the
 * job in `ps` and /proc/1/cmdline: it calls itself jobworker-init instead.
 */
static void name_init(void) {
  static const char name[] = "jobworker-init";
  if (prctl(PR_SET_NAME, name) < 0) die("name");
  /* The name, then NULs: never the launcher's arguments (an area too small for the whole
     name holds as much of it as fits). */
  size_t area = (size_t)(args_end - args_start);
  memset(args_start, 0, area);
  memcpy(args_start, name, area - 1 < sizeof name - 1 ? area - 1 : sizeof name - 1);
  /* Trimmed to the name where the kernel lets us: it reads the command line up to the
     area's end. EPERM (no CAP_SYS_RESOURCE, as in many containers): /proc/1/cmdline then
     ends in NULs, which ps does not show. */
  if (area > sizeof name && prctl(PR_SET_MM, PR_SET_MM_ARG_END, (unsigned long)(args_start + sizeof name), 0, 0) < 0 && errno != EPERM)
    die("name");
}

/* Whether the launcher is gone: nobody reads STATUS_FD any more (a pipe's writer sees POLLERR). */
static int launcher_gone(void) {
  struct pollfd status = {.fd = STATUS_FD, .events = POLLOUT};
  return poll(&status, 1, 0) > 0 && (status.revents & POLLERR);
}

/*
 * First steps of every new process of ours: STATUS_FD in place (close-on-exec, so the
 * command never holds it) and reports going there, death with the launcher (checked:
 * it may have died before), a process group of its own, and for an init, its own name.
 * Descriptors listed in `keep` are moved out of STATUS_FD's way first. Signals stay as
 * the launcher blocks them: an init reads them from a signalfd, a command gets them reset
 * right before its exec.
 */
static void prepare_process(int isolate, int report_w, int *keep, int nkeep) {
  report_to_fd(report_w);
  if (isolate) map_own_ids();
  for (int i = 0; i < nkeep; i++)
    if (keep[i] == STATUS_FD && (keep[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, STATUS_FD + 1)) < 0) die("fd");
  if (report_w != STATUS_FD) {
    if (dup2(report_w, STATUS_FD) < 0) die("fd");
    report_to_fd(STATUS_FD);
    if (close(report_w) < 0) die("fd");
  }
  if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) < 0) die("fd");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("pdeathsig");
  /* An init sees no parent (it is outside its namespace): it asks the report pipe. */
  if (isolate ? launcher_gone() : getppid() != launcher_pid) _exit(127);
  if (setpgid(0, 0) < 0) die("setpgid");
  if (isolate) name_init();
}

/* Closes every descriptor from `first` up: an init never execs, so close-on-exec would not. */
static void close_from(int first) {
  if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0) return;
  /* A kernel before 5.9: one by one; EBADF (not open) is what most give. */
  for (int fd = first; fd < 1024; fd++)
    if (close(fd) < 0 && errno != EBADF) die("fd");
}

/* The last component of an absolute path (checked by open_parent_dir first). */
static const char *base_name(const char *path) { return strrchr(path, '/') + 1; }

/* An O_PATH descriptor of the directory an absolute file path names a file in; -1 with
   errno set (EINVAL: not absolute, or no file name). */
static int open_parent_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  if (path[0] != '/' || !slash || !slash[1] || (size_t)(slash - path) >= PATH_MAX) {
    errno = EINVAL;
    return -1;
  }
  char dir[PATH_MAX];
  size_t len = slash == path ? 1 : (size_t)(slash - path);
  memcpy(dir, path, len);
  dir[len] = 0;
  return open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Everything the job needs before its command runs, in its first process. Never returns. */
static void run_job(const struct start_request *r, int in, int out_dir, int err_dir) {
  /* Made here, in the job's own process, not by the launcher or the engine: creating a
     file costs a millisecond or more of CPU on some file systems, and here it runs in
     parallel with other starts. Through the launcher's descriptors of their directories,
     so that the files are open on the host's mounts, never on this mount namespace's
     copies (which a writer would keep from being made read-only); still as the
     launcher's user, before any mount or drop. */
  int o = openat(out_dir, base_name(r->out), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (o < 0) die("output");
  int e = openat(err_dir, base_name(r->err), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (e < 0 || close(out_dir) < 0 || close(err_dir) < 0) die("output");
  /* Into the job's cgroups before anything of the job's runs: "0" is the writer itself. */
  for (size_t i = 0; i < r->ncgroups; i++) {
    int fd = open(r->cgroups[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1 || close(fd) < 0) die("cgroup");
  }
  /* The FIFO's read end was opened non-blocking (an open that cannot wait for a writer);
     the job reads it as any stdin, blocking. */
  int flags = fcntl(in, F_GETFL);
  if (flags < 0 || ((flags & O_NONBLOCK) && fcntl(in, F_SETFL, flags & ~O_NONBLOCK) < 0)) die("stdin");
  /* In an order that never closes a descriptor still to be moved. */
  int fds[3] = {in, o, e};
  for (int target = 0; target < 3; target++) {
    for (int later = target + 1; later < 3; later++) {
      if (fds[later] == target) {
        fds[later] = fcntl(target, F_DUPFD_CLOEXEC, STATUS_FD + 1);
        if (fds[later] < 0 || close(target) < 0) die("fd");
      }
    }
    move_fd(fds[target], target);
  }
  /* Nothing of the launcher's (the engine's sockets, other jobs' pipes) may stay open in the job. */
  close_from(STATUS_FD + 1);
  if (chdir(r->cwd) < 0) die("chdir");
  environ = r->envp;
  if (!r->isolate) exec_command(&r->options, r->argv, launcher_pid);
  struct result result = run_init(&r->options, r->argv);
  char line[64];
  int n = snprintf(line, sizeof line, "result %d %d\n", result.kind, result.value);
  /* Short of the launcher being gone (then nobody is told anything), a pipe takes 64 bytes. */
  if (n > 0 && write(STATUS_FD, line, (size_t)n) != n) _exit(1);
  _exit(0);
}

static void read_start_time(pid_t pid, char *out, size_t size) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  snprintf(out, size, "-");
  /* Unreadable: "-", which the protocol allows. */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (close(fd) < 0 || n <= 0) return;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p || !p[1]) return;
  p += 2; /* field 3 */
  for (int field_no = 3; field_no < 22 && p; field_no++) {
    p = strchr(p, ' ');
    if (p) p++;
  }
  if (!p) return;
  size_t len = strcspn(p, " ");
  if (len == 0 || len >= size) return;
  memcpy(out, p, len);
  out[len] = 0;
}

/*
 * Spares: children of the two common kinds (plain, and isolated without a network
 * namespace) made ahead of demand, each waiting on a socket for its job. A fork, and
 * above all the namespaces a clone makes, take milliseconds: with a spare ready, a start
 * is answered at once. Spares are made by the nursery, a child of the launcher that
 * clones them with CLONE_PARENT (so they are the launcher's children, reaped and
 * signalled by it) and passes their descriptors over a socket, so that making them never
 * holds up the launcher's answers. A spare gets the start request, the job's stdin and
 * its output files' directories (SCM_RIGHTS). Up to SPARES_PER_KIND wait for each kind, once it was
 * used.
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
  struct job_options none;
  memset(&none, 0, sizeof none);
  return job_namespace_flags(&none);
}

/* Puts `n` descriptors in `msg`'s control buffer `control` (CMSG_SPACE(n * sizeof(int)) bytes). */
static void attach_fds(struct msghdr *msg, char *control, size_t size, const int *fds, size_t n) {
  memset(control, 0, size);
  msg->msg_control = control;
  msg->msg_controllen = size;
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(n * sizeof(int));
  memcpy(CMSG_DATA(cmsg), fds, n * sizeof(int));
}

/* The descriptors a received `msg` carries: 0 and `n` of them in `fds` when it carries
   exactly `n`; -1 otherwise (any it carried are closed). */
static int take_fds(struct msghdr *msg, int *fds, size_t n) {
  int ok = !(msg->msg_flags & MSG_CTRUNC);
  size_t found = 0;
  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
      if (found < n) fds[found] = fd;
      else if (close(fd) < 0) ok = 0;
      found++;
    }
  }
  if (ok && found == n) return 0;
  for (size_t i = 0; i < found && i < n; i++)
    if (close(fds[i]) < 0) ok = 0; /* nothing more to do: the message is refused either way */
  return -1;
}

/* In the spare: waits for its job, then runs it. Never returns. */
static void spare_main(int kind, int sock, int report_w) {
  int keep[1] = {sock};
  prepare_process(kind == ISOLATED, report_w, keep, 1);
  sock = keep[0];
  /* None of the launcher's standard descriptors (the engine's sockets): a spare outlives
     the launcher only until it reads its socket's end. */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) die("stdin");
  for (int fd = 0; fd < 3; fd++)
    if (fd != null && dup2(null, fd) < 0) die("fd");
  if (null > 2 && close(null) < 0) die("fd");
  uint32_t len;
  int received[3];
  char control[CMSG_SPACE(sizeof received)];
  struct iovec iov = {.iov_base = &len, .iov_len = sizeof len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL)) < 0 && errno == EINTR) {}
  /* The launcher is gone, or lets us go. */
  if (n != (ssize_t)sizeof len || take_fds(&msg, received, 3) < 0) _exit(0);
  char *frame = len <= MAX_FRAME ? malloc(len) : NULL;
  if (!frame) die("request");
  for (size_t got = 0; got < len;) {
    ssize_t r = read(sock, frame + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(0);
    got += (size_t)r;
  }
  if (close(sock) < 0) die("fd");
  struct fields f;
  struct start_request request;
  /* Checked by the launcher already: it cannot fail. */
  errno = EINVAL;
  if (split_frame(frame, len, &f) < 0 || !field(&f) || parse_start(&f, &request) != 0) die("request");
  run_job(&request, received[0], received[1], received[2]);
}

/* In the nursery: makes a spare of `kind` and tells the launcher. */
static void nurse(int launcher, int kind) {
  struct spare_note note;
  memset(&note, 0, sizeof note);
  note.kind = kind;
  int sv[2] = {-1, -1}, report[2] = {-1, -1};
  pid_t pid = -1;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0 && pipe2(report, O_CLOEXEC) == 0) {
    unsigned long flags = CLONE_PARENT | SIGCHLD | (kind == ISOLATED ? (unsigned long)spare_namespace_flags() : 0);
    pid = (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
    if (pid == 0) {
      if (close(launcher) < 0 || close(sv[0]) < 0 || close(report[0]) < 0) _exit(127);
      spare_main(kind, sv[1], report[1]);
    }
  }
  /* Our copies of the spare's ends; a failure here leaves a spare that sees no end of
     its socket: the nursery cannot go on. */
  if ((sv[1] >= 0 && close(sv[1]) < 0) || (report[1] >= 0 && close(report[1]) < 0)) _exit(1);
  int fds[2] = {sv[0], report[0]};
  char control[CMSG_SPACE(sizeof fds)];
  struct iovec iov = {.iov_base = &note, .iov_len = sizeof note};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (pid > 0) {
    note.pid = pid;
    read_start_time(pid, note.start_time, sizeof note.start_time);
    attach_fds(&msg, control, sizeof control, fds, 2);
  }
  ssize_t sent;
  while ((sent = sendmsg(launcher, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  /* The launcher is gone: so is the spare (its socket's end), and the nursery. */
  if (sent != (ssize_t)sizeof note) _exit(0);
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0 && close(fds[i]) < 0) _exit(1);
}

/* The nursery's loop: one byte (a kind) in, one spare out. Never returns. It keeps the
   launcher's signal mask: its clones start with the forwarded signals blocked. */
static void nursery_main(int launcher) {
  report_to_fd(-1); /* nothing to report: a failure ends it, and the launcher forks for itself */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != launcher_pid) _exit(1);
  if (launcher != STATUS_FD + 1) {
    if (dup2(launcher, STATUS_FD + 1) < 0) _exit(1);
    launcher = STATUS_FD + 1;
  }
  close_from(STATUS_FD + 2);
  /* EBADF: fd 3 was not open. */
  if (close(STATUS_FD) < 0 && errno != EBADF) _exit(1);
  /* None of the engine's descriptors: a supervisor waits for every holder of its pipes. */
  int null = open("/dev/null", O_RDWR);
  if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || (null > 2 && close(null) < 0)) _exit(1);
  for (;;) {
    char kind;
    ssize_t n = recv(launcher, &kind, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0);
    nurse(launcher, kind == ISOLATED ? ISOLATED : PLAIN);
  }
}

/* Without a nursery (it could not be made), starts fork or clone for themselves. */
static void start_nursery(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    if (close(sv[0]) < 0) _exit(1);
    nursery_main(sv[1]);
  }
  if (close(sv[1]) < 0 || pid < 0) {
    if (pid > 0 && kill(pid, SIGKILL) < 0) kill_all_and_exit(); /* our child: cannot fail */
    if (close(sv[0]) < 0) kill_all_and_exit();
    return;
  }
  nursery_pid = pid;
  nursery_fd = sv[0];
}

static void drop_nursery(void) {
  if (close(nursery_fd) < 0) kill_all_and_exit();
  nursery_fd = -1;
}

/* Asks the nursery for spares of `kind` until enough are ready or on their way. */
static void top_up(int kind) {
  if (nursery_fd < 0) return;
  char byte = (char)kind;
  while (nready[kind] + asked[kind] < SPARES_PER_KIND) {
    /* EAGAIN: the nursery is behind; asked again at the next start. Other errors: it is
       gone, which receive_spare sees. */
    if (send(nursery_fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) return;
    asked[kind]++;
  }
}

/* A spare the nursery made: ready for the next start of its kind. */
static void receive_spare(void) {
  struct spare_note note;
  int fds[2];
  char control[CMSG_SPACE(sizeof fds) + CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = &note, .iov_len = sizeof note};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n = recvmsg(nursery_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  int carried = n > 0 ? take_fds(&msg, fds, 2) : -1;
  if (n != (ssize_t)sizeof note || note.kind < 0 || note.kind > 1) {
    /* The nursery is gone (or broken): starts fork or clone for themselves from now on. */
    if (carried == 0 && (close(fds[0]) < 0 || close(fds[1]) < 0)) kill_all_and_exit();
    drop_nursery();
    return;
  }
  asked[note.kind]--;
  if (note.pid <= 0) return;
  int usable = carried == 0 && nready[note.kind] < SPARES_PER_KIND;
  /* Also done by the spare; ESRCH: it died already (it is reaped as a stranger). */
  if (usable && setpgid(note.pid, note.pid) < 0 && errno != ESRCH) usable = 0;
  if (usable && fcntl(fds[1], F_SETFL, O_NONBLOCK) < 0) usable = 0;
  if (!usable) {
    /* Unusable, or one too many: our child, reaped as a stranger. */
    if (kill(note.pid, SIGKILL) < 0 && errno != ESRCH) kill_all_and_exit();
    if (carried == 0 && (close(fds[0]) < 0 || close(fds[1]) < 0)) kill_all_and_exit();
    return;
  }
  struct spare *spare = &ready[note.kind][nready[note.kind]++];
  spare->pid = note.pid;
  spare->sock = fds[0];
  spare->report_fd = fds[1];
  snprintf(spare->start_time, sizeof spare->start_time, "%s", note.start_time);
}

/*
 * Hands the job to a ready spare of `kind`; its pid, or -1 (none ready, or it is gone).
 * The spare is ours and reads at once, so these writes to it do not wait on the engine.
 */
static pid_t hand_to_spare(int kind, char *frame, uint32_t len, const int job_fds[3], int *report_fd, char *start_time, size_t size) {
  if (nready[kind] == 0) return -1;
  struct spare taken = ready[kind][--nready[kind]];
  char control[CMSG_SPACE(3 * sizeof(int))];
  struct iovec iov = {.iov_base = &len, .iov_len = sizeof len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  attach_fds(&msg, control, sizeof control, job_fds, 3);
  ssize_t sent;
  while ((sent = sendmsg(taken.sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  int ok = sent == (ssize_t)sizeof len;
  for (size_t done = 0; ok && done < len;) {
    ssize_t w = send(taken.sock, frame + done, len - done, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ok = 0;
    else done += (size_t)w;
  }
  if (close(taken.sock) < 0) ok = 0;
  if (!ok) {
    /* The spare died unused: it is reaped as a stranger. */
    if (kill(taken.pid, SIGKILL) < 0 && errno != ESRCH) kill_all_and_exit();
    if (close(taken.report_fd) < 0) kill_all_and_exit();
    return -1;
  }
  *report_fd = taken.report_fd;
  snprintf(start_time, size, "%s", taken.start_time);
  return taken.pid;
}

/* ---- Starts ---- */

/* The handle of the start being answered: report()'s sink in the launcher names it. */
static const char *answering;

static void start_failed(const char *step, int err) { emit("exit %s - - %s %d\n", answering, step, err); }

/* The job's stdin FIFO at `path` (0600): its read end in *in, a write end of our own in
   *hold (so that the job never reads a false EOF before the engine opened its writer). */
static int open_stdin_fifo(const char *path, int *in, int *hold) {
  if ((unlink(path) < 0 && errno != ENOENT) || mkfifo(path, 0600) < 0) return -1;
  *in = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  *hold = *in < 0 ? -1 : open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (*hold >= 0) return 0;
  int err = errno;
  /* Best effort, the failure being reported: the engine removes the name in any case. */
  if (*in >= 0 && close(*in) < 0) kill_all_and_exit();
  if (unlink(path) < 0) {}
  errno = err;
  return -1;
}

static void close_or_exit(int fd) {
  if (fd >= 0 && fd != null_fd && close(fd) < 0) kill_all_and_exit();
}

static void start(struct fields *f, char *frame, uint32_t len) {
  struct start_request r;
  int refused = parse_start(f, &r);
  if (!valid_handle(r.handle)) {
    /* Nothing to answer with: the engine sends valid handles. */
    free_request(&r);
    return;
  }
  answering = r.handle;
  int in = -1, hold = -1, out_dir = -1, err_dir = -1;
  if (refused) {
    report("request", refused);
    goto done;
  }
  int kind = !r.isolate ? PLAIN : !r.options.net_none ? ISOLATED : -1;
  if (njobs == jobs_cap) {
    size_t cap = jobs_cap ? jobs_cap * 2 : 64;
    struct job *grown = realloc(jobs, cap * sizeof *jobs);
    if (!grown) {
      report("fork", ENOMEM);
      goto done;
    }
    jobs = grown;
    jobs_cap = cap;
  }
  /* Their directories only (a lookup, no file made): the job's first process makes the files. */
  if ((out_dir = open_parent_dir(r.out)) < 0 || (err_dir = open_parent_dir(r.err)) < 0) {
    report("output", errno);
    goto done;
  }
  if (!*r.in) in = null_fd;
  else if (open_stdin_fifo(r.in, &in, &hold) < 0) {
    report("stdin", errno);
    goto done;
  }
  char start_time[32];
  int report_fd = -1;
  int job_fds[3] = {in, out_dir, err_dir};
  pid_t pid = kind >= 0 ? hand_to_spare(kind, frame, len, job_fds, &report_fd, start_time, sizeof start_time) : -1;
  if (pid < 0) {
    /* No spare (network none, or it failed): fork or clone for this job now. */
    int report_pipe[2];
    if (pipe2(report_pipe, O_CLOEXEC) < 0) {
      report("fork", errno);
      goto done;
    }
    pid = r.isolate ? (pid_t)syscall(SYS_clone, (unsigned long)(job_namespace_flags(&r.options) | SIGCHLD), 0, 0, 0, 0) : fork();
    if (pid == 0) {
      /* First: an init asks this pipe whether the launcher is still there. */
      if (close(report_pipe[0]) < 0) _exit(127);
      prepare_process(r.isolate, report_pipe[1], job_fds, 3);
      run_job(&r, job_fds[0], job_fds[1], job_fds[2]);
    }
    int fork_errno = errno;
    close_or_exit(report_pipe[1]);
    if (pid < 0) {
      close_or_exit(report_pipe[0]);
      if (r.isolate) report("unshare", fork_errno);
      else report("fork", fork_errno);
      goto done;
    }
    /* Also here, so that a signal sent before the child ran finds its group. EACCES: it
       has exec'd already (and made its group before); ESRCH: it has ended already. */
    if (setpgid(pid, pid) < 0 && errno != EACCES && errno != ESRCH) kill_all_and_exit();
    if (fcntl(report_pipe[0], F_SETFL, O_NONBLOCK) < 0) kill_all_and_exit();
    report_fd = report_pipe[0];
    read_start_time(pid, start_time, sizeof start_time);
  }
  struct job *job = &jobs[njobs++];
  snprintf(job->handle, sizeof job->handle, "%s", r.handle);
  job->pid = pid;
  job->report_fd = report_fd;
  job->stdin_hold = hold;
  hold = -1;
  emit("started %s %d %s\n", r.handle, (int)pid, start_time);
  /* After the answer; the nursery makes them while the launcher goes on. */
  if (kind >= 0) top_up(kind);
done:
  close_or_exit(in);
  close_or_exit(hold);
  close_or_exit(out_dir);
  close_or_exit(err_dir);
  answering = NULL;
  free_request(&r);
}

static struct job *find_handle(const char *handle) {
  if (!handle) return NULL;
  for (size_t i = 0; i < njobs; i++)
    if (strcmp(jobs[i].handle, handle) == 0) return &jobs[i];
  return NULL;
}

static void signal_job(struct fields *f) {
  struct job *job = find_handle(field(f));
  unsigned long signo;
  if (!job || parse_uint(field(f), NSIG - 1, &signo) < 0 || signo == 0 || f->next != f->count) return;
  /* Unreaped, so its process group id is still this job's. Nothing to answer: ESRCH is
     a group whose every process has ended, whose exit comes next. */
  if (kill(-job->pid, (int)signo) < 0 && errno != ESRCH) {}
}

/* The engine holds the FIFO's writer now: ours goes, and the job sees EOF when the engine's does. */
static void stdin_attached(struct fields *f) {
  struct job *job = find_handle(field(f));
  if (!job || f->next != f->count) return;
  close_or_exit(job->stdin_hold);
  job->stdin_hold = -1;
}

/* What the leader and what it waited for used (wait4): microseconds, KiB, 512-byte blocks. */
static void usage_text(const struct rusage *ru, char *out, size_t size) {
  long long user_us = (long long)ru->ru_utime.tv_sec * 1000000 + ru->ru_utime.tv_usec;
  long long sys_us = (long long)ru->ru_stime.tv_sec * 1000000 + ru->ru_stime.tv_usec;
  snprintf(out, size, "%lld %lld %ld %ld %ld", user_us, sys_us, ru->ru_maxrss, ru->ru_inblock, ru->ru_oublock);
}

/* How the leader ended, what it used, and the first failure its report names. */
static void report_exit(struct job *job, int status, const struct rusage *ru) {
  char text[1024];
  size_t got = 0;
  for (;;) {
    ssize_t n = read(job->report_fd, text + got, sizeof text - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    /* EAGAIN: the rest (nothing, as it has ended) is all there is. */
    if (n <= 0 || (got += (size_t)n) == sizeof text - 1) break;
  }
  close_or_exit(job->report_fd);
  text[got] = 0;
  char step[32] = "-";
  int step_errno = -1, kind = -1, value = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
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
  char usage[128];
  usage_text(ru, usage, sizeof usage);
  if (strcmp(step, "-") != 0) emit("exit %s - - %s %d %s\n", job->handle, step, step_errno, usage);
  else if (WIFSIGNALED(status)) emit("exit %s - %d - - %s\n", job->handle, WTERMSIG(status), usage);
  else if (kind == 1) emit("exit %s - %d - - %s\n", job->handle, value, usage);
  else if (kind == 0) emit("exit %s %d - - - %s\n", job->handle, value, usage);
  else emit("exit %s %d - - - %s\n", job->handle, WEXITSTATUS(status), usage);
}

static void reap(void) {
  for (;;) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    /* Seen, not reaped: its process group id cannot be reused while we kill its strays. */
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
      if (errno == EINTR) continue;
      return; /* ECHILD: no child at all */
    }
    if (info.si_pid == 0) return;
    pid_t pid = info.si_pid;
    /* ESRCH: no group of that id (the nursery, a spare that died before it made its own). */
    if (kill(-pid, SIGKILL) < 0 && errno != ESRCH) kill_all_and_exit();
    int status;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    pid_t got;
    while ((got = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR) {}
    if (got != pid) kill_all_and_exit(); /* seen just now: cannot happen */
    for (size_t i = 0; i < njobs; i++) {
      if (jobs[i].pid != pid) continue;
      report_exit(&jobs[i], status, &ru);
      close_or_exit(jobs[i].stdin_hold);
      jobs[i] = jobs[--njobs];
      break;
    }
    /* A spare that died unused: another is asked for at the next start of its kind. */
    for (int k = 0; k < 2; k++) {
      for (int s = 0; s < nready[k]; s++) {
        if (ready[k][s].pid != pid) continue;
        close_or_exit(ready[k][s].sock);
        close_or_exit(ready[k][s].report_fd);
        ready[k][s] = ready[k][--nready[k]];
        break;
      }
    }
    if (pid == nursery_pid) nursery_pid = 0;
  }
}

static void handle_frame(char *data, size_t len) {
  struct fields f;
  int whole = split_frame(data, len, &f) == 0;
  const char *kind = field(&f);
  if (!kind) return;
  if (strcmp(kind, "start") == 0) {
    /* A broken start (no final NUL, too many strings) is refused, if its handle is whole. */
    if (whole) start(&f, data, (uint32_t)len);
    else if (f.count >= 2 && valid_handle(f.at[1])) emit("exit %s - - request %d\n", f.at[1], EINVAL);
  } else if (!whole) {
    return;
  } else if (strcmp(kind, "signal") == 0) {
    signal_job(&f);
  } else if (strcmp(kind, "stdin-attached") == 0) {
    stdin_attached(&f);
  }
}

/* ---- The loop ---- */

/* How long the launcher waits for its killed children before it exits anyway. */
#define REAP_LIMIT_MS 5000

/* The launcher's signalfd (SIGCHLD, SIGTERM), set up before anything can end it. */
static int signal_fd = -1;

static long long now_ms(void) {
  struct timespec t;
  /* CLOCK_MONOTONIC cannot fail. */
  if (clock_gettime(CLOCK_MONOTONIC, &t) < 0) return 0;
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * The engine is gone (or closes the pool): nothing of ours may run on unsupervised. Spares
 * still on their way from the nursery are this process's children too, known to nobody
 * yet: closing the nursery's socket drops the descriptors in flight, so they see their
 * socket's end and exit. Reaping lets the engine know, when it sees this process exit,
 * that nothing of the pool runs any more; bounded, since a process in a frozen cgroup or
 * stuck in the kernel cannot die now, and a launcher that never exits would hold up its
 * engine's close for good. Every failure here is ignored: this is the way out.
 */
static void kill_all_and_exit(void) {
  if (nursery_fd >= 0 && close(nursery_fd) < 0) {}
  if (nursery_pid > 0 && kill(nursery_pid, SIGKILL) < 0) {}
  for (size_t i = 0; i < njobs; i++)
    if (kill(-jobs[i].pid, SIGKILL) < 0) {}
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < nready[k]; i++) {
      if (kill(ready[k][i].pid, SIGKILL) < 0) {}
      if (close(ready[k][i].sock) < 0) {}
    }
  /* Woken by each SIGCHLD (the signalfd), until none is left or the time is up. */
  struct pollfd chld = {.fd = signal_fd, .events = POLLIN};
  long long deadline = now_ms() + REAP_LIMIT_MS;
  for (long long left = REAP_LIMIT_MS; left > 0; left = deadline - now_ms()) {
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {}
    if (pid < 0 && errno == ECHILD) break;
    if (poll(&chld, 1, (int)left) < 0) {}
    struct signalfd_siginfo si;
    while (read(signal_fd, &si, sizeof si) > 0) {}
  }
  _exit(0);
}

/* Makes `fd` non-blocking (and close-on-exec): the engine's sockets. */
static int engine_fd(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
  unsigned long engine;
  if (argc != 2 || parse_uint(argv[1], INT_MAX, &engine) < 0 || engine == 0) return 2;
  launcher_pid = getpid();
  job_namespaces_init();
  args_start = argv[0];
  args_end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
  /* Failures of a start become "exit HANDLE - - STEP ERRNO" (see start_failed). */
  report_to_sink(start_failed);
  /* A write to a vanished engine fails with EPIPE instead of killing us silently. */
  struct sigaction ignore = {.sa_handler = SIG_IGN};
  if (sigaction(SIGPIPE, &ignore, NULL) < 0) return 1;
  /* Blocked for good: SIGCHLD (a child ended) and SIGTERM (the engine died, or someone
     asks us to end) are read from a descriptor in the loop below; the other signals an
     init forwards are blocked so that our clones start with them blocked (see the top). */
  sigset_t blocked;
  init_signal_set(&blocked);
  if (sigprocmask(SIG_BLOCK, &blocked, NULL) < 0) return 1;
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  signal_fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) return 1;
  /* Dies with the engine, even one that died before we got here. */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != (pid_t)engine) return 1;
  if (engine_fd(0) < 0 || engine_fd(1) < 0) return 1;
  null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) return 1;
  size_t cap = 1 << 16, used = 0, at = 0;
  char *buf = malloc(cap);
  if (!buf) return 1;
  emit("hello jobworker-launcher 3\n");
  start_nursery();
  for (;;) {
    /* Whole frames, while the engine takes our events (see QUEUE_LIMIT); a batch at a
       time, so that a burst of requests does not hold up reaping and spares. */
    int handled = 0;
    while (handled < FRAMES_PER_TURN && queued() <= QUEUE_LIMIT && used - at >= 4) {
      const unsigned char *head = (const unsigned char *)buf + at;
      uint32_t len = (uint32_t)head[0] | (uint32_t)head[1] << 8 | (uint32_t)head[2] << 16 | (uint32_t)head[3] << 24;
      if (len > MAX_FRAME) kill_all_and_exit();
      if (used - at - 4 < len) break;
      handle_frame(buf + at + 4, len);
      at += 4 + len;
      handled++;
    }
    if (at == used) at = used = 0;
    /* A whole batch: a look at the others without waiting, then the next. */
    int more = handled == FRAMES_PER_TURN;
    flush_events();
    /* Requests are read only when those read are done with, and the engine takes our
       events: what it sends meanwhile waits in its socket, not in our memory. */
    int paused = more || queued() > QUEUE_LIMIT;
    struct pollfd fds[4] = {
        {.fd = paused ? -1 : 0, .events = POLLIN},
        {.fd = queued() > 0 ? 1 : -1, .events = POLLOUT},
        {.fd = signal_fd, .events = POLLIN},
        {.fd = nursery_fd, .events = POLLIN},
    };
    if (poll(fds, 4, more ? 0 : -1) < 0) {
      if (errno == EINTR) continue;
      kill_all_and_exit();
    }
    /* POLLERR, POLLHUP: the write below says what it is. */
    if (fds[1].revents) flush_events();
    if (fds[3].revents && nursery_fd >= 0) receive_spare();
    if (fds[2].revents) {
      struct signalfd_siginfo si;
      int terminate = 0;
      ssize_t n;
      while ((n = read(signal_fd, &si, sizeof si)) == (ssize_t)sizeof si)
        if (si.ssi_signo == SIGTERM) terminate = 1;
      if (n >= 0 || errno != EAGAIN) kill_all_and_exit();
      reap();
      if (terminate) kill_all_and_exit();
    }
    if (fds[0].revents) {
      if (at > 0) {
        memmove(buf, buf + at, used - at);
        used -= at;
        at = 0;
      }
      if (used == cap) {
        char *grown = realloc(buf, cap * 2);
        if (!grown) kill_all_and_exit();
        buf = grown;
        cap *= 2;
      }
      ssize_t n = read(0, buf + used, cap - used);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) kill_all_and_exit();
      if (n > 0) used += (size_t)n;
    }
  }
}
