import { open } from "node:fs/promises";
import { isValidIdentity } from "./client-identity.js";
import { ServerConfigError } from "./config-error.js";

/** Largest admins file read: a list of names, never near this. */
const MAX_ADMINS_FILE_BYTES = 1024 * 1024;

/** Where the admin names come from: fixed names (`serve --admin`) and a file re-read on reload. */
export interface AdminSources {
  /** Names fixed for the server's life (`serve --admin NAME`). */
  names?: readonly string[];
  /** A file of names, one per line (`serve --admins-file`), read at start and by {@link Admins.reload}. */
  file?: string;
}

/** What a reload changed. */
export interface AdminChange {
  /** Every admin now, sorted. */
  admins: string[];
  added: string[];
  removed: string[];
}

/**
 * The identities (client certificate CNs) that may act on every job. Kept server-side,
 * so that a role is taken away by editing the list, without revoking a certificate; it
 * is asked on every request, so a change applies to the next request of that identity.
 */
export class Admins {
  readonly #fixed: readonly string[];
  readonly #file: string | undefined;
  #current: ReadonlySet<string>;

  private constructor(fixed: readonly string[], file: string | undefined, current: ReadonlySet<string>) {
    this.#fixed = fixed;
    this.#file = file;
    this.#current = current;
  }

  /** Checks the names and reads the file; a bad name or an unusable file is a {@link ServerConfigError}. */
  static async load(sources: AdminSources = {}): Promise<Admins> {
    const fixed = (sources.names ?? []).map((name) => checkName(name, "--admin"));
    const fromFile = sources.file !== undefined ? await readAdminsFile(sources.file) : [];
    return new Admins(fixed, sources.file, new Set([...fixed, ...fromFile]));
  }

  /** Whether `identity` may act on every job. */
  has(identity: string): boolean {
    return this.#current.has(identity);
  }

  /** Every admin, sorted. */
  list(): string[] {
    return [...this.#current].sort();
  }

  /** The file re-read by {@link reload}, if any. */
  get file(): string | undefined {
    return this.#file;
  }

  /**
   * Re-reads the admins file (the fixed names stay). When it cannot be read or holds a
   * bad line, the previous list stays in force and the error says why: a half-edited
   * file never leaves the server without its admins, nor gives the role to a typo.
   */
  async reload(): Promise<AdminChange> {
    const before = this.#current;
    if (this.#file !== undefined) this.#current = new Set([...this.#fixed, ...(await readAdminsFile(this.#file))]);
    const admins = this.list();
    return { admins, added: admins.filter((name) => !before.has(name)), removed: [...before].filter((name) => !this.#current.has(name)).sort() };
  }
}

/**
 * The names of an admins file: one per line, leading and trailing blanks ignored, blank
 * lines and lines starting with `#` skipped. Any other line must be a valid identity.
 */
export function parseAdminsFile(text: string, path: string): string[] {
  const names: string[] = [];
  const lines = text.split("\n");
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    names.push(checkName(line, `${path} line ${index + 1}`));
  }
  return names;
}

/** A name as given, or a refusal naming where it came from. */
function checkName(name: string, where: string): string {
  if (name === "*") {
    throw new ServerConfigError(`${where}: "*" is not an identity`, "name each admin by the CN of its client certificate", { exitCode: 2 });
  }
  if (!isValidIdentity(name)) {
    throw new ServerConfigError(`${where}: ${JSON.stringify(name)} is not a valid identity`, "an identity is a certificate CN: 1 to 256 characters, no control characters", {
      exitCode: 2,
    });
  }
  return name;
}

/**
 * Reads and parses an admins file. A file that others may write is refused: whoever can
 * write it can make themselves admin.
 */
async function readAdminsFile(path: string): Promise<string[]> {
  let text: string;
  try {
    const handle = await open(path, "r");
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new Error("not a regular file");
      if ((info.mode & 0o022) !== 0) {
        throw new ServerConfigError(`the admins file ${path} is writable by group or others`, `whoever can write it can make themselves admin: chmod go-w ${path}`, { exitCode: 2 });
      }
      if (info.size > MAX_ADMINS_FILE_BYTES) throw new Error(`larger than ${MAX_ADMINS_FILE_BYTES} bytes`);
      text = await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof ServerConfigError) throw err;
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
    throw new ServerConfigError(`cannot read the admins file ${path}: ${reason}`, "give a readable file of names, one per line", { cause: err, exitCode: 2 });
  }
  return parseAdminsFile(text, path);
}
