import { chmod, chown, lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";

/** `<dir>`: the server's user's, and others may pass through it but not list it (no identity learns who else exists). */
const DIR_MODE = 0o711;
/** `<dir>/<uid>`: its owner's alone. */
const HOME_MODE = 0o700;

/**
 * Each identity's $HOME, `<dir>/<uid>`, made on its first job and owned by its uid and
 * gid. Named by uid, not identity: an identity is any string, a uid is a safe file name,
 * and the uid is the identity's forever (IdentityUids).
 *
 * Each home is made (or, after a restart, its owner and mode set again) once per
 * process: later calls cost a Set lookup. A home removed by hand while the server runs
 * is made again only after a restart.
 */
export class IdentityHomes {
  private dirReady = false;
  private readonly ensured = new Set<number>();
  private readonly pending = new Map<number, Promise<string>>();

  constructor(private readonly dir: string) {}

  /** `<dir>/<uid>`, whether or not it exists yet. */
  pathOf(uid: number): string {
    return join(this.dir, String(uid));
  }

  /**
   * Makes the home of `slot` if needed, mode 0700, owned uid:gid, off the thread; returns
   * its path. Concurrent calls for one slot share the work.
   */
  ensureAsync(uid: number, gid: number, slot = uid): Promise<string> {
    // `slot` names the directory: the identity's own uid, also when every job runs as one
    // `--run-as` user (then `uid` owns every home, and each identity still has its own).
    const home = this.pathOf(slot);
    if (this.ensured.has(slot)) return Promise.resolve(home);
    let work = this.pending.get(slot);
    if (!work) {
      work = this.make(uid, gid, home, slot).finally(() => this.pending.delete(slot));
      this.pending.set(slot, work);
    }
    return work;
  }

  private async make(uid: number, gid: number, home: string, slot: number): Promise<string> {
    if (!this.dirReady) {
      await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
      // The server's own (root's on a root server): no identity may write in it.
      await chown(this.dir, process.getuid!(), process.getgid!());
      await chmod(this.dir, DIR_MODE);
      this.dirReady = true;
    }
    try {
      await mkdir(home, { mode: HOME_MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    checkDirectory(home, await lstat(home));
    await chown(home, uid, gid);
    await chmod(home, HOME_MODE);
    this.ensured.add(slot);
    return home;
  }
}

/**
 * chown and chmod follow symbolic links: a link where a home should be would hand its
 * target to the identity. Only the server's user can write in `<dir>`, so one there was put by hand.
 */
function checkDirectory(home: string, stats: { isDirectory(): boolean; isSymbolicLink(): boolean }): void {
  if (stats.isSymbolicLink() || !stats.isDirectory()) throw new Error(`the home ${home} is not a directory (a symbolic link or another file is in its place): remove it`);
}
