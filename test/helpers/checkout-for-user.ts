import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository's root directory. */
export const CHECKOUT = resolve(import.meta.dirname, "..", "..");

/**
 * The checkout, as a path an unprivileged user (uid/gid) can reach. Tests that run code
 * as `nobody` need it, but a checkout may sit under a directory only root may enter
 * (`mktemp -d` makes them 0700). Then the checkout is bind-mounted (we are root: only
 * root can make another user anyway) at a fresh directory anyone may enter; `release`
 * unmounts it. The checkout's own files keep their modes.
 */
export function checkoutReachableBy(uid: number, gid: number): { root: string; release: () => void } {
  const probe = spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(join(CHECKOUT, "package.json"))}, 4)`], { uid, gid });
  if (probe.status === 0) return { root: CHECKOUT, release: () => {} };
  const mountPoint = mkdtempSync(join(tmpdir(), "jobworker-checkout-"));
  chmodSync(mountPoint, 0o755);
  const mounted = spawnSync("mount", ["--bind", CHECKOUT, mountPoint], { encoding: "utf8" });
  if (mounted.status !== 0) {
    rmdirSync(mountPoint);
    throw new Error(`the checkout is not reachable by uid ${uid}, and bind-mounting it failed: ${mounted.stderr.trim()}`);
  }
  return {
    root: mountPoint,
    release: () => {
      // Lazy: a process of the test that is still ending (a pool's launcher) must not make the unmount fail.
      spawnSync("umount", ["--lazy", mountPoint]);
      rmdirSync(mountPoint);
    },
  };
}
