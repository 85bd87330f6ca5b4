import type { Confinement } from "../start/launcher-protocol.js";
import type { JobIsolation, RunAsUser } from "../types.js";
import type { IdentityHomes } from "./homes.js";
import type { IdentityUids } from "./identity-uids.js";

/** Where an identity's home appears inside an isolated job. */
export const HOME_IN_JOB = "/home/job";

/** Who jobs run as, decided once at `open` (docs/security.md). */
export type ConfinementMode =
  /** A root server's default: each identity its own uid, no privilege, the host read-only. */
  | { kind: "per-identity"; uids: IdentityUids }
  /** `--run-as USER`: every identity under that one user (they share a uid), no privilege. */
  | { kind: "run-as"; user: RunAsUser; uids: IdentityUids }
  /**
   * A server that is not root, where user namespaces are allowed: every job as the
   * server's uid (one uid cannot be split without root) in a user namespace of its own,
   * no privilege, the host read-only; each identity still its own $HOME (`uids` only
   * numbers the homes).
   */
  | { kind: "rootless"; user: { uid: number; gid: number; groups: number[] }; uids: IdentityUids }
  /** `--run-as root`, or a server that is not root and cannot isolate: jobs run as the server, unconfined. */
  | { kind: "as-server" };

/** What one job runs as and under. */
export interface JobConfinement {
  runAs?: { uid: number; gid: number; groups: number[] };
  confinement?: Confinement;
  /** The job's $HOME, as the job sees it. */
  home?: string;
  /** What its record says of it (merged into `isolation`). */
  record: Partial<JobIsolation>;
  /** Its identity's home on the host, to make before the job starts: owner and slot (see IdentityHomes). */
  homeOwner?: { uid: number; gid: number; slot: number };
}

/**
 * Turns the pool's confinement mode into what each job gets: its uid, its home, and the
 * launcher's confinement options (native/confine.c). The masks are the server's own
 * files (data directory, PKI, logs): invisible to every job.
 */
export class Confiner {
  constructor(
    readonly mode: ConfinementMode,
    private readonly homes: IdentityHomes,
    private readonly options: { isolated: boolean; masks: string[]; writable: string[] },
  ) {}

  /** The confinement of a job of `owner` (library jobs without an owner are one identity, ""), its home not made yet. */
  plan(owner: string | undefined): JobConfinement {
    const user = this.userOf(owner ?? "");
    if (!user) return { record: { confined: false } };
    const { isolated, masks, writable } = this.options;
    const homeSource = this.homes.pathOf(user.slot);
    const home = isolated ? HOME_IN_JOB : homeSource;
    return {
      // Rootless: the job keeps the server's ids (its user namespace maps only those).
      ...(this.mode.kind !== "rootless" && { runAs: { uid: user.uid, gid: user.gid, groups: user.groups } }),
      confinement: {
        noPrivileges: true,
        readOnlyHost: isolated,
        ...(isolated && { home: { source: homeSource, target: HOME_IN_JOB } }),
        masks: isolated ? masks : [],
        writable: isolated ? writable : [],
      },
      home,
      homeOwner: { uid: user.uid, gid: user.gid, slot: user.slot },
      record: { uid: user.uid, gid: user.gid, confined: true, read_only_host: isolated, home },
    };
  }

  /** Makes the planned job's home (the identity's first job only does any work), off the thread. */
  async ensureHome({ homeOwner }: JobConfinement): Promise<void> {
    if (homeOwner) await this.homes.ensureAsync(homeOwner.uid, homeOwner.gid, homeOwner.slot);
  }

  /** One line for the operator: what a job gets. */
  summary(): string {
    const host = this.options.isolated ? "the host read-only (writable: its $HOME, /tmp, /var/tmp" + (this.options.writable.length ? `, ${this.options.writable.join(", ")}` : "") + "), the server's files masked, a private /dev" : "the host as the uid's permissions allow (no isolation)";
    switch (this.mode.kind) {
      case "per-identity":
        return `confinement: each identity its own uid, no capability, no_new_privs, a seccomp filter; ${host}`;
      case "run-as":
        return `confinement: every job as ${this.mode.user.name} (uid ${this.mode.user.uid}): identities share that uid; no capability, no_new_privs, a seccomp filter; ${host}`;
      case "rootless": {
        const { uid, groups } = this.mode.user;
        const kept = groups.length > 0 ? `; your supplementary groups (${groups.join(", ")}) stay with every job, as the kernel keeps them in a user namespace: what they may reach, jobs may reach (daemon sockets are masked)` : "";
        return `confinement: every job as the server's user (uid ${uid}, in a user namespace of its own: identities share that uid, each its own $HOME); no capability, no_new_privs, a seccomp filter; ${host}${kept}`;
      }
      case "as-server":
        return process.getuid?.() === 0
          ? "confinement: none (--run-as root): jobs run as root with every capability and can do anything root can on this host"
          : "confinement: none (not root, and no user namespace for jobs): jobs run as you, unconfined, with every right of your user";
    }
  }

  /** The uid a job runs as, and its home's slot: the identity's own uid from the range. */
  private userOf(identity: string): { uid: number; gid: number; groups: number[]; slot: number } | undefined {
    switch (this.mode.kind) {
      case "per-identity": {
        const uid = this.mode.uids.uidOf(identity);
        return { uid, gid: uid, groups: [], slot: uid };
      }
      case "run-as": {
        const { uid, gid, groups } = this.mode.user;
        return { uid, gid, groups: groups ?? [], slot: this.mode.uids.uidOf(identity) };
      }
      case "rootless": {
        const { uid, gid } = this.mode.user;
        return { uid, gid, groups: [], slot: this.mode.uids.uidOf(identity) };
      }
      case "as-server":
        return undefined;
    }
  }
}
