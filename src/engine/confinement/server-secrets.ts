import { realpathSync } from "node:fs";
import { homedir } from "node:os";

/**
 * Host daemons' sockets that hand root (or the host) to anyone who may connect: the
 * groups that may (docker, lxd, libvirt...) go with a `--run-as` user and with a rootless
 * server's user into every job, and a read-only mount does not stop `connect`. Masked in
 * every confined job; a missing path is left alone.
 */
export const DAEMON_SOCKETS = [
  "/run/docker.sock",
  "/var/run/docker.sock",
  "/run/podman/podman.sock",
  "/run/containerd/containerd.sock",
  "/run/crio/crio.sock",
  "/run/libvirt/libvirt-sock",
  "/run/libvirt/libvirt-sock-ro",
  "/var/snap/lxd/common/lxd/unix.socket",
  "/var/lib/lxd/unix.socket",
  "/run/incus/unix.socket",
];

/**
 * What a rootless server's user owns outside `/home` and `/root` (which every confined
 * job has masked): its home wherever it is (a CI user's `/var/lib/jenkins`), and its
 * runtime directory, whose sockets (the session bus, `systemd --user`, gpg-agent, a
 * rootless Docker) would take the job's requests as that user's.
 */
export function rootlessUserPaths(uid: number, env: NodeJS.ProcessEnv = process.env): string[] {
  const paths = new Set<string>([`/run/user/${uid}`]);
  for (const path of [homedir(), env.XDG_RUNTIME_DIR]) {
    const real = path ? realOrSelf(path) : undefined;
    // A home of "/" (or none) masks nothing: the host read-only is all there is.
    if (real && real !== "/" && real.startsWith("/")) paths.add(real);
  }
  return [...paths];
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
