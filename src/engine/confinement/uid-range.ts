import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../errors.js";

/**
 * The uids (and, the same numbers, gids) the server gives client identities: `serve
 * --uid-range FIRST-LAST`, both ends included. Nobody else on the host may use them, or a
 * job would act as that user (checkUidRange refuses such a range at open).
 */
export interface UidRange {
  first: number;
  last: number;
}

/**
 * 700000000-700999999: a million identities, far above login users (1000 up) and the
 * usual /etc/subuid blocks (65536 each from 100000 up, so a thousand users end near
 * 65.6 million), and below 2^31, which tools that keep a uid in a signed int mishandle.
 */
export const DEFAULT_UID_RANGE: UidRange = { first: 700000000, last: 700999999 };

/** The largest uid: 2^32 - 1 is (uid_t)-1, "no change" to setresuid and chown. */
const MAX_UID = 4294967294;

/**
 * Uids no identity may have: 65534 is nobody (the kernel's overflowuid: what a user
 * namespace or NFS shows for an unmapped owner), 65535 is (uid16_t)-1, "no change" to the
 * 16-bit uid system calls. 0 and 2^32 - 1 lie outside 1..MAX_UID already.
 */
const RESERVED_UIDS: [uid: number, why: string][] = [
  [65534, "65534 (nobody)"],
  [65535, "65535 ((uid16_t)-1)"],
];

/** The range as the option spells it: "700000000-700999999". */
export function formatUidRange(range: UidRange): string {
  return `${range.first}-${range.last}`;
}

/** Reads `--uid-range FIRST-LAST`: decimal integers, 1 <= FIRST <= LAST <= 4294967294, no reserved uid inside. */
export function parseUidRange(text: string): UidRange {
  const match = /^(\d+)-(\d+)$/.exec(text);
  if (!match) throw new InvalidArgumentError(`--uid-range must be FIRST-LAST, two decimal integers (e.g. ${formatUidRange(DEFAULT_UID_RANGE)}), not ${JSON.stringify(text)}`);
  const [, firstText, lastText] = match as unknown as [string, string, string];
  // "0700" might be meant as octal: refuse rather than guess.
  if (/^0\d/.test(firstText) || /^0\d/.test(lastText)) throw new InvalidArgumentError(`--uid-range ${text}: write FIRST and LAST in decimal without leading zeros`);
  const first = Number(firstText);
  const last = Number(lastText);
  if (first < 1) throw new InvalidArgumentError(`--uid-range ${text}: FIRST must be at least 1 (uid 0 is root)`);
  if (last > MAX_UID) throw new InvalidArgumentError(`--uid-range ${text}: LAST must be at most ${MAX_UID} (4294967295 is (uid_t)-1)`);
  if (first > last) throw new InvalidArgumentError(`--uid-range ${text}: FIRST must not be above LAST`);
  for (const [uid, why] of RESERVED_UIDS) {
    if (first <= uid && uid <= last) throw new InvalidArgumentError(`--uid-range ${text} contains uid ${why}, which no identity may have`);
  }
  return { first, last };
}

/** The host's files that say which uids and gids are someone's. */
export interface IdFiles {
  passwd: string;
  group: string;
  subuid: string;
  subgid: string;
}

export const HOST_ID_FILES: IdFiles = { passwd: "/etc/passwd", group: "/etc/group", subuid: "/etc/subuid", subgid: "/etc/subgid" };

/** How many collisions a message names before it counts the rest. */
const NAMED_COLLISIONS = 3;

/**
 * Refuses a range that overlaps an id the host gives someone else: a user's uid or
 * primary gid (/etc/passwd: identities' gids equal their uids), a group's gid
 * (/etc/group), or a subordinate range of /etc/subuid or /etc/subgid (`name:start:count`,
 * the uids of someone's user namespaces). Only these local files: users of LDAP or other
 * NSS sources are not seen (enumerating them can be slow or impossible). A missing
 * file has nothing in it. Read once at open, synchronously: a few kilobytes.
 */
export function checkUidRange(range: UidRange, files: IdFiles = HOST_ID_FILES): void {
  const collisions: string[] = [];
  const inRange = (id: number) => range.first <= id && id <= range.last;
  for (const fields of entries(files.passwd)) {
    const [name, , uid, gid] = fields;
    if (inRange(toId(uid))) collisions.push(`user ${name} (uid ${uid})`);
    else if (inRange(toId(gid))) collisions.push(`user ${name}'s primary group (gid ${gid})`);
  }
  for (const [name, , gid] of entries(files.group)) {
    if (inRange(toId(gid))) collisions.push(`group ${name} (gid ${gid})`);
  }
  for (const [kind, path] of [["subuid", files.subuid], ["subgid", files.subgid]] as const) {
    for (const [name, startText, countText] of entries(path)) {
      const start = toId(startText);
      const count = toId(countText);
      if (!(start >= 0 && count > 0)) continue;
      const end = start + count - 1;
      if (start <= range.last && range.first <= end) collisions.push(`${kind} range ${start}-${end} of ${name} (${path})`);
    }
  }
  if (collisions.length === 0) return;
  const named = collisions.slice(0, NAMED_COLLISIONS).join(", ");
  const more = collisions.length > NAMED_COLLISIONS ? ` and ${collisions.length - NAMED_COLLISIONS} more` : "";
  throw new InvalidArgumentError(`--uid-range ${formatUidRange(range)} overlaps ${named}${more}`);
}

/** The colon-separated fields of each entry of a passwd-style file, without comments, blank or NIS ("+…", "-…") lines. */
function entries(path: string): string[][] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "" && !/^\s*#/.test(line) && !/^[+-]/.test(line))
    .map((line) => line.split(":"));
}

/** A decimal id field, or NaN (which is in no range) for anything else. */
function toId(field: string | undefined): number {
  return field !== undefined && /^\d{1,10}$/.test(field) ? Number(field) : NaN;
}
