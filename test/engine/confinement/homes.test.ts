// Each identity's home, <dir>/<uid>: made at first use with its owner and mode 0700, in
// a directory root owns with mode 0711; later calls touch nothing. Runs as root (chown).
import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { IdentityHomes } from "../../../src/engine/confinement/homes.js";
import { tempDir } from "../../helpers/temp-dir.js";

function ownerAndMode(path: string): { uid: number; gid: number; mode: number; dir: boolean } {
  const s = statSync(path);
  return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777, dir: s.isDirectory() };
}

describe("IdentityHomes", { skip: process.getuid?.() !== 0 && "needs root (chown)" }, () => {
  const dir = tempDir();
  after(dir.remove);
  let n = 0;
  let umask: number;
  // A strict umask would make <dir> 0700 through mkdir alone: the modes must not depend on it.
  before(() => (umask = process.umask(0o077)));
  after(() => process.umask(umask));
  const freshDir = () => join(dir.path, `homes-${n++}`, "homes");

  it("pathOf is <dir>/<uid>, and makes nothing", () => {
    const root = freshDir();
    const homes = new IdentityHomes(root);
    assert.equal(homes.pathOf(700000123), join(root, "700000123"));
    assert.equal(existsSync(root), false);
  });

  it("ensureAsync makes <dir> the server's (root:root) 0711 and the home uid:gid 0700", async () => {
    const root = freshDir();
    const homes = new IdentityHomes(root);
    const home = await homes.ensureAsync(700000001, 700000001);
    assert.equal(home, join(root, "700000001"));
    assert.deepEqual(ownerAndMode(root), { uid: 0, gid: 0, mode: 0o711, dir: true });
    assert.deepEqual(ownerAndMode(home), { uid: 700000001, gid: 700000001, mode: 0o700, dir: true });
    // uid and gid are set as given.
    const other = await homes.ensureAsync(700000002, 700000099);
    assert.deepEqual(ownerAndMode(other), { uid: 700000002, gid: 700000099, mode: 0o700, dir: true });
  });

  it("puts right an existing <dir> and home (a restart, or one made by hand)", async () => {
    const root = freshDir();
    mkdirSync(join(root, "5000"), { recursive: true });
    chownSync(root, 1234, 1234);
    chmodSync(root, 0o777);
    chmodSync(join(root, "5000"), 0o755);
    writeFileSync(join(root, "5000", "kept"), "data");
    const home = await new IdentityHomes(root).ensureAsync(5000, 5000);
    assert.deepEqual(ownerAndMode(root), { uid: 0, gid: 0, mode: 0o711, dir: true });
    assert.deepEqual(ownerAndMode(home), { uid: 5000, gid: 5000, mode: 0o700, dir: true });
    // What the home holds is left as it is.
    assert.equal(ownerAndMode(join(home, "kept")).uid, 0);
  });

  it("is cached: after the first call, ensure does not touch the disk", async () => {
    const root = freshDir();
    const homes = new IdentityHomes(root);
    const home = await homes.ensureAsync(6000, 6000);
    chmodSync(home, 0o750);
    assert.equal(await homes.ensureAsync(6000, 6000), home);
    assert.equal(statSync(home).mode & 0o7777, 0o750);
    // Another instance (a restarted server) sets it again.
    await new IdentityHomes(root).ensureAsync(6000, 6000);
    assert.equal(statSync(home).mode & 0o7777, 0o700);
  });

  it("refuses a symbolic link or a file in a home's place, and changes nothing through it", async () => {
    const root = freshDir();
    const target = join(dir.path, `target-${n++}`);
    mkdirSync(target);
    chmodSync(target, 0o755);
    mkdirSync(root, { recursive: true });
    symlinkSync(target, join(root, "7000"));
    writeFileSync(join(root, "7001"), "");
    const homes = new IdentityHomes(root);
    await assert.rejects(homes.ensureAsync(7000, 7000), /home .*7000 is not a directory/);
    await assert.rejects(homes.ensureAsync(7001, 7001), /home .*7001 is not a directory/);
    assert.deepEqual(ownerAndMode(target), { uid: 0, gid: 0, mode: 0o755, dir: true });
    // Not cached as made: once the link is gone, the home is made.
    rmSync(join(root, "7000"));
    assert.deepEqual(ownerAndMode(await homes.ensureAsync(7000, 7000)), { uid: 7000, gid: 7000, mode: 0o700, dir: true });
  });

  it("ensureAsync does the same, without blocking", async () => {
    const root = freshDir();
    const homes = new IdentityHomes(root);
    const home = await homes.ensureAsync(8000, 8001);
    assert.equal(home, join(root, "8000"));
    assert.deepEqual(ownerAndMode(root), { uid: 0, gid: 0, mode: 0o711, dir: true });
    assert.deepEqual(ownerAndMode(home), { uid: 8000, gid: 8001, mode: 0o700, dir: true });
    // Cached, and shared with the synchronous twin.
    chmodSync(home, 0o750);
    assert.equal(await homes.ensureAsync(8000, 8001), home);
    assert.equal(await homes.ensureAsync(8000, 8001), home);
    assert.equal(statSync(home).mode & 0o7777, 0o750);
  });

  it("ensureAsync: concurrent calls for one uid share one piece of work; others run side by side", async () => {
    const root = freshDir();
    const homes = new IdentityHomes(root);
    const first = homes.ensureAsync(9000, 9000);
    const second = homes.ensureAsync(9000, 9000);
    assert.equal(first, second);
    const all = await Promise.all([first, homes.ensureAsync(9001, 9001), homes.ensureAsync(9002, 9002)]);
    assert.deepEqual(all, [join(root, "9000"), join(root, "9001"), join(root, "9002")]);
    for (const uid of [9000, 9001, 9002]) assert.deepEqual(ownerAndMode(join(root, String(uid))), { uid, gid: uid, mode: 0o700, dir: true });
  });

  it("ensureAsync rejects on a symbolic link, and a later call tries again", async () => {
    const root = freshDir();
    mkdirSync(root, { recursive: true });
    symlinkSync("/", join(root, "9500"));
    const homes = new IdentityHomes(root);
    await assert.rejects(homes.ensureAsync(9500, 9500), /home .*9500 is not a directory/);
    assert.equal(statSync("/").uid, 0);
    rmSync(join(root, "9500"));
    assert.deepEqual(ownerAndMode(await homes.ensureAsync(9500, 9500)), { uid: 9500, gid: 9500, mode: 0o700, dir: true });
  });
});
