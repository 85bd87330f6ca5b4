import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, lstat, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { PkiError, ioError } from "./errors.js";

/** Mode of private keys: owner read/write only. */
export const KEY_FILE_MODE = 0o600;
/** Mode of certificates and CRLs: public data. */
export const PUBLIC_FILE_MODE = 0o644;
/** Mode of the directories this tool creates: they hold private keys. */
export const DIR_MODE = 0o700;

/** A file to write: its content and mode. */
export interface PlannedFile {
  path: string;
  content: string;
  mode: number;
}

/**
 * Refuses, before anything is written, when any of `paths` exists and `force` is not
 * set: `PKI_EXISTS` naming the first one found, with "use --force" as the hint.
 */
export async function refuseExisting(paths: readonly string[], force: boolean | undefined): Promise<void> {
  if (force) return;
  for (const path of paths) {
    if (await exists(path)) {
      throw new PkiError("PKI_EXISTS", `refusing to overwrite ${path}: it already exists`, {
        path,
        hint: "use --force to replace it",
      });
    }
  }
}

/** Whether something (file, directory, dangling symlink) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file, so this path cannot exist; writing will say so.
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw ioError("check", path, err);
  }
}

/** Creates `dir` (and parents) with mode 0700 when missing; leaves an existing one as it is. */
export async function ensureDir(dir: string): Promise<void> {
  if (await exists(dir)) return;
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    // mkdir's mode is filtered by the umask; set it exactly.
    await chmod(dir, DIR_MODE);
  } catch (err) {
    throw ioError("create directory", dir, err);
  }
}

/** Reads a text file; `PKI_IO` on any failure (callers check existence first for nicer errors). */
export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw ioError("read", path, err);
  }
}

/**
 * Writes every file atomically, as a set as far as the file system allows: each is
 * first written to a temporary file in its own directory (created with its final
 * mode, fsynced), and only when all are staged are they renamed into place, then the
 * directories fsynced. A failure while staging removes the temporaries and leaves the
 * old files untouched; a reader never sees a half-written key or certificate.
 */
export async function writeFilesAtomically(files: readonly PlannedFile[]): Promise<void> {
  const staged: { temp: string; path: string }[] = [];
  try {
    for (const file of files) {
      await ensureDir(dirname(file.path));
      const temp = join(dirname(file.path), `.${basename(file.path)}.${randomBytes(6).toString("hex")}.tmp`);
      staged.push({ temp, path: file.path });
      await writeDurably(temp, file.content, file.mode);
    }
    for (const { temp, path } of staged) {
      try {
        await rename(temp, path);
      } catch (err) {
        throw ioError("write", path, err);
      }
    }
  } catch (err) {
    await Promise.all(staged.map(({ temp }) => unlink(temp).catch(() => undefined)));
    throw err;
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) await syncDir(dir);
}

async function writeDurably(temp: string, content: string, mode: number): Promise<void> {
  let handle;
  try {
    // O_EXCL: never follow or reuse something already at the temporary name.
    handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (err) {
    throw ioError("write", temp, err);
  }
  try {
    await handle.chmod(mode); // the umask may have removed bits from `mode`
    await handle.writeFile(content, "utf8");
    await handle.sync();
  } catch (err) {
    throw ioError("write", temp, err);
  } finally {
    await handle.close();
  }
}

/** fsyncs a directory so the renames in it survive a crash; best effort. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems refuse fsync on directories; the data itself is already synced.
  }
}
