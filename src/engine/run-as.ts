import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { InvalidArgumentError } from "./errors.js";
import type { RunAsUser } from "./types.js";

/**
 * Looks a user up by name (or numeric uid) in the system's user database (`getent passwd`,
 * so NSS sources count; /etc/passwd where getent is missing), for `PoolOptions.runAs`.
 * Refuses root: the point is to run jobs without the server's rights.
 */
export function resolveUser(name: string): RunAsUser {
  let line: string | undefined;
  try {
    line = execFileSync("getent", ["passwd", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0];
  } catch (err) {
    // getent exits 2 for an unknown user; ENOENT when it is not installed.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") line = passwdLine(name);
  }
  if (!line) throw new InvalidArgumentError(`unknown user: ${name}`);
  const [user, , uid, gid, , home] = line.split(":");
  const uidNum = Number(uid);
  if (!Number.isInteger(uidNum) || !Number.isInteger(Number(gid))) throw new InvalidArgumentError(`malformed user entry for ${name}`);
  if (uidNum === 0) throw new InvalidArgumentError(`jobs cannot run as ${name}: it is root, and run-as is for an unprivileged user`);
  return { name: user!, uid: uidNum, gid: Number(gid), home: home || "/", groups: supplementaryGroups(user!, Number(gid)) };
}

/** The user's supplementary groups, as `id -G` lists them (NSS included), without its primary group. */
function supplementaryGroups(user: string, gid: number): number[] {
  try {
    const ids = execFileSync("id", ["-G", user], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split(/\s+/).map(Number);
    return [...new Set(ids.filter((g) => Number.isInteger(g) && g !== gid))];
  } catch {
    return [];
  }
}

/**
 * Where `setpriv` (util-linux) is, to give jobs their user's supplementary groups: libuv's
 * own uid/gid switch drops every supplementary group (`setgroups(0, NULL)`).
 */
export function findSetpriv(): string | undefined {
  // `env` too: the job's environment is applied by `env -i` after the switch (see
  // `privilegeDropArgv`), so without it the helper cannot be used safely.
  if (!ENV_TOOLS.some((p) => existsSync(p))) return undefined;
  return ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv", "/sbin/setpriv"].find((p) => existsSync(p));
}

const ENV_TOOLS = ["/usr/bin/env", "/bin/env"];

/** The environment `setpriv` itself runs with: it runs as root, so nothing of the client's. */
export const SETPRIV_ENV: Record<string, string> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };

/**
 * Arguments of `setpriv` that switch to `user` (uid, gid, supplementary groups) and only
 * then, through `env -i`, give the job its environment and exec it. Passing the job's
 * environment to setpriv directly would let a client's LD_PRELOAD (or any other loader
 * variable) run code in setpriv while it is still root.
 */
export function privilegeDropArgv(user: RunAsUser, env: Record<string, string>, cmd: string, args: readonly string[]): string[] {
  const envTool = ENV_TOOLS.find((p) => existsSync(p))!;
  return [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    `--groups=${user.groups!.join(",")}`,
    "--",
    envTool,
    "-i",
    ...Object.entries(env).map(([name, value]) => `${name}=${value}`),
    cmd,
    ...args,
  ];
}

function passwdLine(name: string): string | undefined {
  try {
    return readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.split(":")[0] === name || l.split(":")[2] === name);
  } catch {
    return undefined;
  }
}
