import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "./errors.js";
import type { RunAsUser } from "./types.js";

/**
 * Looks a user up by name (or numeric uid) in the system's user database (`getent passwd`,
 * so NSS sources count; /etc/passwd where getent is missing), for `PoolOptions.runAs`.
 * Root is allowed (`--run-as root`): the pool then runs jobs unconfined, and `serve` warns.
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

function passwdLine(name: string): string | undefined {
  try {
    return readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.split(":")[0] === name || l.split(":")[2] === name);
  } catch {
    return undefined;
  }
}
