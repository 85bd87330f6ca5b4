// `serve --uid-range`: what parses, what is refused and why, and the refusal of a range
// that overlaps someone's uid, gid or subordinate ids on the host.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { InvalidArgumentError } from "../../../src/engine/errors.js";
import { checkUidRange, DEFAULT_UID_RANGE, formatUidRange, parseUidRange, type IdFiles } from "../../../src/engine/confinement/uid-range.js";
import { tempDir } from "../../helpers/temp-dir.js";

/** Asserts that `fn` throws an InvalidArgumentError whose message matches `message`. */
function refuses(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError, `not an InvalidArgumentError: ${String(err)}`);
    assert.equal(err.code, "INVALID_ARGUMENT");
    assert.match(err.message, message);
    return true;
  });
}

describe("parseUidRange", () => {
  it("reads FIRST-LAST, both ends included", () => {
    assert.deepEqual(parseUidRange("700000000-700999999"), { first: 700000000, last: 700999999 });
    assert.deepEqual(parseUidRange("1-1"), { first: 1, last: 1 });
    assert.deepEqual(parseUidRange("1-65533"), { first: 1, last: 65533 });
    assert.deepEqual(parseUidRange("65536-4294967294"), { first: 65536, last: 4294967294 });
    assert.deepEqual(parseUidRange(formatUidRange(DEFAULT_UID_RANGE)), DEFAULT_UID_RANGE);
  });

  it("the default range is inside the rules, above the usual subuid blocks and below 2^31", () => {
    assert.deepEqual(DEFAULT_UID_RANGE, { first: 700000000, last: 700999999 });
    assert.ok(DEFAULT_UID_RANGE.first > 100000 + 1000 * 65536);
    assert.ok(DEFAULT_UID_RANGE.last < 2 ** 31);
  });

  it("refuses what is not two decimal integers", () => {
    for (const text of ["", "1000", "1000-", "-2000", "1000:2000", " 1000-2000", "1000-2000 ", "1e3-2000", "0x10-0x20", "+1-2", "1.5-2", "1000--2000", "a-b", "１０-２０"]) {
      refuses(() => parseUidRange(text), /must be FIRST-LAST, two decimal integers/);
    }
  });

  it("refuses leading zeros, which might be meant as octal", () => {
    refuses(() => parseUidRange("0700-0800"), /without leading zeros/);
    refuses(() => parseUidRange("100-0200"), /without leading zeros/);
  });

  it("refuses uid 0", () => {
    refuses(() => parseUidRange("0-100"), /FIRST must be at least 1 \(uid 0 is root\)/);
    refuses(() => parseUidRange("0-0"), /FIRST must be at least 1/);
  });

  it("refuses (uid_t)-1 and anything above it", () => {
    refuses(() => parseUidRange("4294967000-4294967295"), /LAST must be at most 4294967294/);
    refuses(() => parseUidRange("1-99999999999999999999"), /LAST must be at most 4294967294/);
  });

  it("refuses FIRST above LAST", () => {
    refuses(() => parseUidRange("2000-1000"), /FIRST must not be above LAST/);
  });

  it("refuses a range holding nobody (65534) or (uid16_t)-1 (65535)", () => {
    refuses(() => parseUidRange("60000-70000"), /contains uid 65534 \(nobody\)/);
    refuses(() => parseUidRange("65534-65534"), /contains uid 65534 \(nobody\)/);
    refuses(() => parseUidRange("65535-65535"), /contains uid 65535/);
    refuses(() => parseUidRange("65535-70000"), /contains uid 65535/);
  });
});

describe("checkUidRange", () => {
  const dir = tempDir();
  after(dir.remove);
  let n = 0;

  /** Host files with the given contents; those left out do not exist. */
  function hostFiles(contents: Partial<IdFiles>): IdFiles {
    const sub = join(dir.path, String(n++));
    mkdirSync(sub);
    const files: IdFiles = { passwd: join(sub, "passwd"), group: join(sub, "group"), subuid: join(sub, "subuid"), subgid: join(sub, "subgid") };
    for (const key of Object.keys(files) as (keyof IdFiles)[]) {
      const text = contents[key];
      if (text !== undefined) writeFileSync(files[key], text);
    }
    return files;
  }

  const PASSWD = [
    "root:x:0:0:root:/root:/bin/bash",
    "# a comment: 1500",
    "",
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
    "alice:x:1000:1000:Alice:/home/alice:/bin/bash",
    "bob:x:1001:3000::/home/bob:/bin/sh",
    "+@netgroup:::::",
  ].join("\n");
  const GROUP = ["root:x:0:", "staff:x:50:alice", "builders:x:2500:bob", "nogroup:x:65534:"].join("\n");
  const SUBUID = "alice:100000:65536\n# bob:1:2\nbob:165536:65536\n";
  const SUBGID = "alice:100000:65536\n";

  it("accepts a range no one on the host uses", () => {
    const files = hostFiles({ passwd: PASSWD, group: GROUP, subuid: SUBUID, subgid: SUBGID });
    checkUidRange({ first: 700000000, last: 700999999 }, files);
    checkUidRange({ first: 1002, last: 2499 }, files);
    // Just past the end of bob's subordinate uids (165536 + 65536 - 1 = 231071).
    checkUidRange({ first: 231072, last: 300000 }, files);
  });

  it("names a user whose uid is in the range", () => {
    const files = hostFiles({ passwd: PASSWD });
    refuses(() => checkUidRange({ first: 1000, last: 1000 }, files), /^--uid-range 1000-1000 overlaps user alice \(uid 1000\)$/);
  });

  it("names a user whose primary gid is in the range (an identity's gid is its uid)", () => {
    const files = hostFiles({ passwd: PASSWD });
    refuses(() => checkUidRange({ first: 2900, last: 3100 }, files), /^--uid-range 2900-3100 overlaps user bob's primary group \(gid 3000\)$/);
  });

  it("names a group whose gid is in the range", () => {
    const files = hostFiles({ group: GROUP });
    refuses(() => checkUidRange({ first: 2000, last: 2999 }, files), /^--uid-range 2000-2999 overlaps group builders \(gid 2500\)$/);
  });

  it("names a subuid or subgid range that overlaps, at either end", () => {
    const uids = hostFiles({ subuid: SUBUID });
    refuses(() => checkUidRange({ first: 231071, last: 240000 }, uids), new RegExp(`^--uid-range 231071-240000 overlaps subuid range 165536-231071 of bob \\(${uids.subuid}\\)$`));
    refuses(() => checkUidRange({ first: 90000, last: 100000 }, uids), /overlaps subuid range 100000-165535 of alice/);
    // The range inside a subuid block, and a block inside the range.
    refuses(() => checkUidRange({ first: 120000, last: 120001 }, uids), /overlaps subuid range 100000-165535 of alice/);
    const gids = hostFiles({ subgid: SUBGID });
    refuses(() => checkUidRange({ first: 1, last: 1000000 }, gids), /overlaps subgid range 100000-165535 of alice/);
  });

  it("names the first collisions and counts the others", () => {
    const files = hostFiles({ passwd: PASSWD, group: GROUP, subuid: SUBUID, subgid: SUBGID });
    refuses(
      () => checkUidRange({ first: 1, last: 65533 }, files),
      /^--uid-range 1-65533 overlaps user alice \(uid 1000\), user bob \(uid 1001\), group staff \(gid 50\) and 1 more$/,
    );
  });

  it("ignores comments, blank and NIS lines, and malformed fields", () => {
    const files = hostFiles({
      passwd: "# carol:x:1500:1500::/:/bin/sh\n\n+carol:x:1500:1500::/:/bin/sh\n-dave:x:1500:1500::/:/bin/sh\nbroken:x:15x0:1y00::/:/bin/sh\nshort\n",
      subuid: "eve:abc:10\nfrank:1500:0\n",
    });
    checkUidRange({ first: 1400, last: 1600 }, files);
  });

  it("takes missing files as empty", () => {
    const files = hostFiles({});
    checkUidRange({ first: 1, last: 4294967294 }, files);
  });
});
