/*
 * A job's confinement: see confine.h for where each half is called.
 *
 * What a job gets, and why. An audit found that a job, real root in its namespaces with
 * every capability, could undo its isolation: umount /proc and /tmp to see the host's,
 * read the server's CA key, write /etc, kill other jobs through cgroupfs, nsenter the
 * host's network. So:
 *
 * - confine_mounts() (isolated jobs with ro_host, in init): the host is read-only and
 *   nosuid, recursively; /proc is the job's own, with Docker's (runc's) default masked
 *   and read-only paths; /sys is read-only and has none of the host's submounts (cgroup
 *   hierarchies, debugfs, tracefs, bpffs...; a fresh sysfs when the job has a network
 *   namespace of its own), with /sys/fs/cgroup, /sys/firmware and powercap hidden, so
 *   no job sees or writes a cgroup, its own included; /dev is a
 *   small tmpfs with null, zero, full, random, urandom, tty (read-only binds of the
 *   host's nodes: usable, but no job can chmod or touch the host's inodes, and no disk,
 *   kvm, kmsg or loop device exists), a devpts of its own, /dev/shm and /dev/mqueue;
 *   /tmp and /var/tmp are private tmpfs, the only writable places besides the identity's
 *   home and the operator's writable paths; /home and /root are empty (host users' homes,
 *   ~/.ssh and the server's ~/.jobworker are not there), and the identity's home appears
 *   at home_target. Order: what must stay reachable (the home, which lives in the
 *   server's data directory, masked later; the host's device nodes, under the /dev that
 *   is replaced) is opened first as detached mounts (open_tree); then the host read-only;
 *   then the writable paths (before every mask, so that a mask always wins over them: a
 *   writable path under /home, /root, /tmp, /var/tmp, /dev, /proc, /sys or a mask is
 *   hidden); then /dev, /proc, /sys, /tmp, /var/tmp, /home and /root; then the masks;
 *   the home last, so that no mask hides it.
 *
 * - confine_process() (the command's process, right before exec): groups, gid; the
 *   capability bounding set emptied while we are still root (PR_CAPBSET_DROP needs
 *   CAP_SETPCAP, which setuid to a non-root uid takes away); the uid; then no ambient,
 *   permitted, effective or inheritable capability (an empty inheritable set matters:
 *   the bounding set does not limit pI & fI at exec); no_new_privs, which the kernel
 *   requires before an unprivileged process may install a filter, and which makes a
 *   setuid-root or file-capability binary run without gaining anything; the seccomp
 *   filter last, so that none of the steps before it is itself filtered. Securebits
 *   (SECBIT_NOROOT and friends, locked) are not needed: with an empty bounding set, empty
 *   inheritable and ambient sets and no_new_privs, no exec can give back a capability,
 *   not even one done as uid 0 (whose exec gets fP = the bounding set = nothing).
 *
 * - The seccomp filter: with no capability and these mounts the kernel refuses most of
 *   what a job must not do already; the filter closes what an unprivileged process can
 *   still reach, and is a second wall should a capability ever be left. Its list follows
 *   Docker's default profile (moby/profiles/seccomp/default.json: what it allows only
 *   with CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_BOOT, CAP_SYS_TIME... we deny, as the job
 *   has none of those), checked against systemd's @mount, @module, @reboot, @swap,
 *   @clock, @raw-io, @obsolete and @cpu-emulation groups (what @system-service leaves
 *   out) and bubblewrap's and nsjail's lists (namespaces, keyring, TIOCSTI): new
 *   namespaces and setns, the whole mount family (old and new API), the keyring, bpf,
 *   perf_event_open, userfaultfd, kexec and modules, reboot, swap, handles
 *   (open_by_handle_at escapes any mount confinement), raw I/O ports, setting clocks,
 *   acct, quotas, syslog, obsolete calls; personality only to query or reset; ioctl
 *   TIOCSTI and TIOCLINUX (typing into a terminal the job shares). ptrace and
 *   process_vm_readv/writev stay: a job has its own uid and PID namespace, and debuggers
 *   need them. clone3 gets ENOSYS, as in Docker: a filter cannot read its flags (they are
 *   in memory), and glibc falls back to clone, whose flags it can check. Every denial is
 *   EPERM (ENOSYS for clone3), never SIGSYS or a kill: a program that probes a call
 *   sees an ordinary error. Calls of any other architecture (i386 through int 0x80, x32)
 *   are refused too: they have other numbers, which the list does not name.
 *   The filter is a hand-built classic BPF program, not libseccomp: the launcher is a
 *   static binary, libseccomp would be a build dependency (and a static library to find)
 *   for a list of some fifty compares (119 instructions on x86_64), and a plain list of
 *   instructions can be read and checked here in full.
 *
 * Every failure ends the process with die("<step>") (job-init.h), one step name per
 * failure site, in the order they can happen: home-open, dev-open, mount-ro, writable,
 * mount-dev, dev-node, dev-link, mount-devpts, mount-shm, mount-mqueue, mount-dev-ro,
 * mount-proc, mask-proc, ro-proc, mount-sys, mask-sys, mask-cgroup, mount-tmp,
 * mount-var-tmp, mask-home, mask, home-dir, mask-home-ro, home (confine_mounts);
 * setgroups, setgid, cap-bounding, setuid, cap-ambient, caps, no-new-privs,
 * seccomp-build, seccomp (confine_process).
 */
#define _GNU_SOURCE
#include "confine.h"
#include "job-init.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- The new mount API, by syscall() (glibc before 2.36 has no wrappers). ---- */

#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif

/* struct mount_attr, version 0 (32 bytes), under a name of our own. */
struct confine_mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

/* A detached copy of the mount at `path` (that mount only), closed at exec. In a user
   namespace, with whatever is mounted below `path` too: the kernel refuses a copy that
   would uncover what those (locked) mounts hide. */
static int clone_tree(const char *path) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (jobs_in_user_namespace() ? AT_RECURSIVE : 0);
  return (int)syscall(__NR_open_tree, AT_FDCWD, path, flags);
}

/* Attaches the detached mount `fd` at `target`. */
static int attach_tree(int fd, const char *target) {
  return (int)syscall(__NR_move_mount, fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

/* Sets and clears mount attributes: of the mount at `path` (dfd AT_FDCWD), or of the
   mount `dfd` itself (path "", flags AT_EMPTY_PATH); AT_RECURSIVE for its submounts too. */
static int set_attr(int dfd, const char *path, unsigned flags, uint64_t set, uint64_t clear) {
  struct confine_mount_attr attr = {.attr_set = set, .attr_clr = clear};
  return (int)syscall(__NR_mount_setattr, dfd, path, flags, &attr, sizeof attr);
}

#define ATTR_SEALED (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* ---- Mount helpers: each returns -1 with errno set; the caller names the step. ---- */

/* 1 if `path` exists (stat's sense: symlinks followed, as mount follows them), 0 if not
   (ENOENT, ENOTDIR) or if this process may not even look (EACCES: neither may the job,
   which has no more rights than its init), -1 on another error. */
static int exists(const char *path, struct stat *st) {
  if (stat(path, st) == 0) return 1;
  return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -1;
}

static int mount_tmpfs(const char *target, unsigned long flags, const char *mode, const char *size) {
  char data[128];
  int n = size ? snprintf(data, sizeof data, "mode=%s,size=%s", mode, size) : snprintf(data, sizeof data, "mode=%s", mode);
  if (n < 0 || (size_t)n >= sizeof data) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return mount("tmpfs", target, "tmpfs", flags, data);
}

/*
 * Makes `path` empty: a directory gets an empty read-only tmpfs, anything else a
 * read-only bind of /dev/null (reads end at once, writes fail). A missing path is
 * left alone. /dev/null must be the job's own already.
 */
static int mask_path(const char *path) {
  struct stat st;
  int e = exists(path, &st);
  if (e <= 0) return e;
  if (S_ISDIR(st.st_mode))
    return mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=4k,nr_inodes=16");
  if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) return -1;
  /* Not nodev: opening the masked file must open /dev/null. */
  return set_attr(AT_FDCWD, path, 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NODEV);
}

/* `path` bound onto itself, read-only with its submounts; a missing path is left alone. */
static int read_only_path(const char *path) {
  struct stat st;
  int e = exists(path, &st);
  if (e <= 0) return e;
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
  return set_attr(AT_FDCWD, path, AT_RECURSIVE, ATTR_SEALED, 0);
}

/* `path` bound onto itself (submounts kept, and kept read-only), that mount writable.
   A missing path is an error: the operator asked for it. */
static int writable_path(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) return -1;
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
  return set_attr(AT_FDCWD, path, 0, 0, MOUNT_ATTR_RDONLY);
}

/* mkdir -p, 0755; existing directories are fine. */
static int make_dirs(const char *path) {
  char p[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof p) {
    errno = n ? ENAMETOOLONG : ENOENT;
    return -1;
  }
  memcpy(p, path, n + 1);
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      if (mkdir(p, 0755) < 0 && errno != EEXIST) return -1;
      *s = c;
      if (c == '\0') break;
    }
  }
  return 0;
}

/* An empty file to mount a node on. */
static int make_file(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

/* runc's (Docker's) defaults: oci.DefaultSpec's MaskedPaths and ReadonlyPaths. */
static const char *const PROC_MASKED[] = {
    "/proc/asound", "/proc/acpi",  "/proc/interrupts", "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
};
static const char *const PROC_READ_ONLY[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
static const char *const SYS_MASKED[] = {"/sys/firmware", "/sys/devices/virtual/powercap"};

/* The host's nodes a job may use: no disk, loop, kvm, kmsg, mem or console. */
static const char *const DEVICES[] = {"null", "zero", "full", "random", "urandom", "tty"};
#define NDEVICES (sizeof DEVICES / sizeof DEVICES[0])
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void confine_mounts(const struct job_options *o) {
  char path[64];

  /* What must stay reachable, before it is hidden: the identity's home (in the server's
     data directory, which a mask hides) and the host's device nodes (under the /dev
     replaced below). Detached copies, read-write as their source is now. */
  int home = -1;
  if (o->home_source && o->home_target) {
    home = clone_tree(o->home_source);
    if (home < 0) die("home-open");
  }
  int devices[NDEVICES];
  for (size_t i = 0; i < NDEVICES; i++) {
    snprintf(path, sizeof path, "/dev/%s", DEVICES[i]);
    devices[i] = clone_tree(path);
    /* Usable (not nodev), but read-only: a job (even as uid 0) cannot chmod, chown or
       touch the host's inodes; opening a device node for writing needs no writable mount. */
    if (devices[i] < 0 ||
        set_attr(devices[i], "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NODEV) < 0)
      die("dev-open");
  }

  /* The whole host, every mount, read-only and nosuid. */
  if (set_attr(AT_FDCWD, "/", AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0) < 0) die("mount-ro");

  /* The operator's writable paths, before any mask (a mask wins over them). */
  for (size_t i = 0; i < o->nwritable; i++)
    if (writable_path(o->writable[i]) < 0) die("writable");

  /* /dev: the few nodes, links, a devpts of its own, shm, mqueue; then read-only. The
     tmpfs is nodev: the nodes are mounts of their own, whose flags are what counts. */
  if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64") < 0) die("mount-dev");
  for (size_t i = 0; i < NDEVICES; i++) {
    snprintf(path, sizeof path, "/dev/%s", DEVICES[i]);
    if (make_file(path) < 0 || attach_tree(devices[i], path) < 0) die("dev-node");
    close(devices[i]);
  }
  if (symlink("/proc/self/fd", "/dev/fd") < 0 || symlink("/proc/self/fd/0", "/dev/stdin") < 0 ||
      symlink("/proc/self/fd/1", "/dev/stdout") < 0 || symlink("/proc/self/fd/2", "/dev/stderr") < 0 ||
      symlink("pts/ptmx", "/dev/ptmx") < 0)
    die("dev-link");
  if (mkdir("/dev/pts", 0755) < 0 ||
      mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
    die("mount-devpts");
  if (mkdir("/dev/shm", 0755) < 0 || mount_tmpfs("/dev/shm", MS_NOSUID | MS_NODEV, "1777", o->tmp_size) < 0) die("mount-shm");
  if (mkdir("/dev/mqueue", 0755) < 0 || mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    die("mount-mqueue");
  if (set_attr(AT_FDCWD, "/dev", 0, MOUNT_ATTR_RDONLY, 0) < 0) die("mount-dev-ro");

  /* /proc: the job's PID namespace, with runc's masks and read-only paths. */
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("mount-proc");
  for (size_t i = 0; i < COUNT(PROC_MASKED); i++)
    if (mask_path(PROC_MASKED[i]) < 0) die("mask-proc");
  for (size_t i = 0; i < COUNT(PROC_READ_ONLY); i++)
    if (read_only_path(PROC_READ_ONLY[i]) < 0) die("ro-proc");

  /* /sys: read-only and without the host's submounts (cgroup hierarchies, debugfs,
     tracefs, bpffs, securityfs...); no cgroup in sight. In a network namespace of its
     own, a fresh sysfs (which shows the job's network devices); in the host's, sysfs is
     the host's superblock, which the kernel will not mount again where it is mounted
     (EBUSY): a bind of /sys onto itself, without its submounts, instead. Read-only as a
     mount either way (the superblock is the host's, or shared with it). */
  int sys;
  if (o->net_none) sys = mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  /* In a user namespace, a bind without the submounts is refused (they are locked to
     it: they may hide something); /sys stays as it is, read-only with the rest, its
     cgroup hierarchies under the mask below. */
  else if (jobs_in_user_namespace()) sys = 0;
  else sys = mount("/sys", "/sys", NULL, MS_BIND, NULL);
  if (sys < 0 || set_attr(AT_FDCWD, "/sys", 0, ATTR_SEALED, 0) < 0) die("mount-sys");
  for (size_t i = 0; i < COUNT(SYS_MASKED); i++)
    if (mask_path(SYS_MASKED[i]) < 0) die("mask-sys");
  if (mask_path("/sys/fs/cgroup") < 0) die("mask-cgroup");

  /* The job's own /tmp and /var/tmp. */
  if (mount_tmpfs("/tmp", MS_NOSUID | MS_NODEV, "1777", o->tmp_size) < 0) die("mount-tmp");
  if (mount_tmpfs("/var/tmp", MS_NOSUID | MS_NODEV, "1777", o->tmp_size) < 0) die("mount-var-tmp");

  /* /home and /root empty (writable until the home's mount point is made). */
  struct stat st;
  int has_home = exists("/home", &st), has_root = exists("/root", &st);
  if (has_home < 0 || has_root < 0 || (has_home && mount_tmpfs("/home", MS_NOSUID | MS_NODEV | MS_NOEXEC, "0755", "1m") < 0) ||
      (has_root && mount_tmpfs("/root", MS_NOSUID | MS_NODEV | MS_NOEXEC, "0700", "1m") < 0))
    die("mask-home");

  /* The operator's masks: after everything above, before the home. */
  for (size_t i = 0; i < o->nmasks; i++)
    if (mask_path(o->masks[i]) < 0) die("mask");

  /* The home: its mount point made, /home and /root read-only, then the home attached,
     writable (that mount only), nosuid, nodev. */
  if (home >= 0 && make_dirs(o->home_target) < 0) die("home-dir");
  if ((has_home && set_attr(AT_FDCWD, "/home", 0, MOUNT_ATTR_RDONLY, 0) < 0) ||
      (has_root && set_attr(AT_FDCWD, "/root", 0, MOUNT_ATTR_RDONLY, 0) < 0))
    die("mask-home-ro");
  if (home >= 0) {
    if (set_attr(home, "", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0) < 0 ||
        set_attr(home, "", AT_EMPTY_PATH, 0, MOUNT_ATTR_RDONLY) < 0 ||
        attach_tree(home, o->home_target) < 0)
      die("home");
    close(home);
  }
}

/* ---- The command's privileges. ---- */

/* /proc/sys/kernel/cap_last_cap, or -1. */
static int cap_last_cap(void) {
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[16];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  char *end;
  long last = strtol(text, &end, 10);
  return end != text && last >= 0 && last < 64 ? (int)last : -1;
}

/* Every capability out of the bounding set (needs CAP_SETPCAP: before setuid). */
static void drop_bounding_set(void) {
  int last = cap_last_cap();
  /* Without /proc/sys: drop until the kernel says there is no such capability. */
  int probe = last < 0;
  if (probe) last = 63;
  for (int cap = 0; cap <= last; cap++) {
    if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0UL, 0UL, 0UL) < 0) {
      if (probe && errno == EINVAL && cap > 0) break;
      die("cap-bounding");
    }
  }
}

/* ---- The seccomp filter. ---- */

#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#else
#error "confine.c: seccomp filter for x86_64 and aarch64 only"
#endif

/* The low 32 bits of argument i (what runc compares for clone's flags). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LOW(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#else
#define ARG_LOW(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i) + 4))
#endif

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((uint32_t)(e) & SECCOMP_RET_DATA))

/* Any namespace: clone with one of these gets EPERM. CLONE_NEWTIME (0x80) lies in
   clone's exit-signal byte, where no valid signal sets it: refusing it costs nothing. */
#define NAMESPACE_FLAGS                                                                                   \
  ((uint32_t)(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | \
              CLONE_NEWCGROUP | 0x00000080 /* CLONE_NEWTIME */))

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

/* EPERM, whatever the arguments. Each under #ifdef: the two architectures differ. */
static const uint32_t DENIED[] = {
/* namespaces */
#ifdef __NR_unshare
    __NR_unshare,
#endif
#ifdef __NR_setns
    __NR_setns,
#endif
/* mounts, old and new API */
#ifdef __NR_mount
    __NR_mount,
#endif
#ifdef __NR_umount
    __NR_umount,
#endif
#ifdef __NR_umount2
    __NR_umount2,
#endif
#ifdef __NR_pivot_root
    __NR_pivot_root,
#endif
#ifdef __NR_chroot
    __NR_chroot,
#endif
#ifdef __NR_move_mount
    __NR_move_mount,
#endif
#ifdef __NR_open_tree
    __NR_open_tree,
#endif
#ifdef __NR_open_tree_attr
    __NR_open_tree_attr,
#endif
#ifdef __NR_fsopen
    __NR_fsopen,
#endif
#ifdef __NR_fsconfig
    __NR_fsconfig,
#endif
#ifdef __NR_fsmount
    __NR_fsmount,
#endif
#ifdef __NR_fspick
    __NR_fspick,
#endif
#ifdef __NR_mount_setattr
    __NR_mount_setattr,
#endif
/* the keyring */
#ifdef __NR_keyctl
    __NR_keyctl,
#endif
#ifdef __NR_add_key
    __NR_add_key,
#endif
#ifdef __NR_request_key
    __NR_request_key,
#endif
/* the kernel's own machinery */
#ifdef __NR_bpf
    __NR_bpf,
#endif
#ifdef __NR_perf_event_open
    __NR_perf_event_open,
#endif
#ifdef __NR_userfaultfd
    __NR_userfaultfd,
#endif
#ifdef __NR_kexec_load
    __NR_kexec_load,
#endif
#ifdef __NR_kexec_file_load
    __NR_kexec_file_load,
#endif
#ifdef __NR_init_module
    __NR_init_module,
#endif
#ifdef __NR_finit_module
    __NR_finit_module,
#endif
#ifdef __NR_delete_module
    __NR_delete_module,
#endif
#ifdef __NR_create_module
    __NR_create_module,
#endif
#ifdef __NR_reboot
    __NR_reboot,
#endif
#ifdef __NR_swapon
    __NR_swapon,
#endif
#ifdef __NR_swapoff
    __NR_swapoff,
#endif
/* handles reach any file of a filesystem, past every mount */
#ifdef __NR_open_by_handle_at
    __NR_open_by_handle_at,
#endif
#ifdef __NR_name_to_handle_at
    __NR_name_to_handle_at,
#endif
/* raw I/O ports */
#ifdef __NR_iopl
    __NR_iopl,
#endif
#ifdef __NR_ioperm
    __NR_ioperm,
#endif
/* clocks */
#ifdef __NR_settimeofday
    __NR_settimeofday,
#endif
#ifdef __NR_clock_settime
    __NR_clock_settime,
#endif
#ifdef __NR_clock_adjtime
    __NR_clock_adjtime,
#endif
#ifdef __NR_adjtimex
    __NR_adjtimex,
#endif
/* accounting, quotas, the kernel log, obsolete calls */
#ifdef __NR_acct
    __NR_acct,
#endif
#ifdef __NR_quotactl
    __NR_quotactl,
#endif
#ifdef __NR_quotactl_fd
    __NR_quotactl_fd,
#endif
#ifdef __NR_lookup_dcookie
    __NR_lookup_dcookie,
#endif
#ifdef __NR_vhangup
    __NR_vhangup,
#endif
#ifdef __NR_nfsservctl
    __NR_nfsservctl,
#endif
#ifdef __NR_syslog
    __NR_syslog,
#endif
#ifdef __NR_uselib
    __NR_uselib,
#endif
#ifdef __NR_ustat
    __NR_ustat,
#endif
#ifdef __NR_sysfs
    __NR_sysfs,
#endif
#ifdef __NR__sysctl
    __NR__sysctl,
#endif
};

#define FILTER_MAX 256
struct filter {
  struct sock_filter code[FILTER_MAX];
  unsigned n;
};

static void emit(struct filter *f, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  if (f->n < FILTER_MAX) f->code[f->n] = (struct sock_filter){code, jt, jf, k};
  f->n++;
}
#define LOAD(f, offset) emit(f, BPF_LD | BPF_W | BPF_ABS, (offset), 0, 0)
#define RETURN(f, value) emit(f, BPF_RET | BPF_K, (value), 0, 0)
/* Jumps: skip `jt` instructions when true, `jf` when false. */
#define JEQ(f, k, jt, jf) emit(f, BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))
#define JSET(f, k, jt, jf) emit(f, BPF_JMP | BPF_JSET | BPF_K, (k), (jt), (jf))

/*
 * The program, in order: another architecture's call -> EPERM; [x86_64] an x32 call ->
 * EPERM; clone3 -> ENOSYS; a DENIED call -> EPERM; clone with a namespace flag -> EPERM;
 * personality other than 0 (PER_LINUX) or 0xffffffff (query) -> EPERM; ioctl TIOCSTI or
 * TIOCLINUX -> EPERM; anything else allowed.
 */
static void build_filter(struct filter *f) {
  f->n = 0;
  LOAD(f, offsetof(struct seccomp_data, arch));
  JEQ(f, FILTER_ARCH, 1, 0);
  RETURN(f, RET_ERRNO(EPERM));
  LOAD(f, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif
  JSET(f, __X32_SYSCALL_BIT, 0, 1);
  RETURN(f, RET_ERRNO(EPERM));
#endif
#ifdef __NR_clone3
  JEQ(f, __NR_clone3, 0, 1);
  RETURN(f, RET_ERRNO(ENOSYS));
#endif
  for (size_t i = 0; i < COUNT(DENIED); i++) {
    JEQ(f, DENIED[i], 0, 1);
    RETURN(f, RET_ERRNO(EPERM));
  }
  /* clone: flags are args[0] on x86_64 and aarch64 alike; the kernel reads only their
     low 32 bits. */
  JEQ(f, __NR_clone, 0, 4);
  LOAD(f, ARG_LOW(0));
  JSET(f, NAMESPACE_FLAGS, 0, 1);
  RETURN(f, RET_ERRNO(EPERM));
  RETURN(f, SECCOMP_RET_ALLOW);
  /* personality (the kernel takes an unsigned int) */
  JEQ(f, __NR_personality, 0, 5);
  LOAD(f, ARG_LOW(0));
  JEQ(f, 0, 2, 0);
  JEQ(f, 0xffffffffu, 1, 0);
  RETURN(f, RET_ERRNO(EPERM));
  RETURN(f, SECCOMP_RET_ALLOW);
  /* ioctl (the request is an unsigned int too) */
  JEQ(f, __NR_ioctl, 0, 4);
  LOAD(f, ARG_LOW(1));
  JEQ(f, TIOCSTI, 1, 0);
  JEQ(f, TIOCLINUX, 0, 1);
  RETURN(f, RET_ERRNO(EPERM));
  RETURN(f, SECCOMP_RET_ALLOW);
}

static void install_filter(void) {
  static struct filter f;
  build_filter(&f);
  if (f.n > FILTER_MAX) {
    errno = E2BIG;
    die("seccomp-build");
  }
  struct sock_fprog prog = {.len = (unsigned short)f.n, .filter = f.code};
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
    if (errno != ENOSYS || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0UL, 0UL) < 0) die("seccomp");
  }
}

void confine_process(const struct job_options *o) {
  if (o->drop) {
    if (setgroups((size_t)o->ngroups, o->groups) < 0) die("setgroups");
    if (setresgid(o->gid, o->gid, o->gid) < 0) die("setgid");
    /* While still root: dropping from the bounding set needs CAP_SETPCAP. */
    if (o->confine) drop_bounding_set();
    if (setresuid(o->uid, o->uid, o->uid) < 0) die("setuid");
  }
  if (!o->confine) return;
  /* A job that keeps its uid (the launcher's) has its capabilities still. */
  if (!o->drop) drop_bounding_set();
  /* EINVAL: a kernel without ambient capabilities (before 4.3), nothing to clear. */
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) < 0 && errno != EINVAL) die("cap-ambient");
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data) < 0) die("caps");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) < 0) die("no-new-privs");
  install_filter();
}
