import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary directory and a function that removes it. */
export function tempDir(prefix = "jobworker-test-"): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A fresh directory outside /tmp (private to each isolated job) and outside any server's
 * home (masked), readable by every uid: for files that confined jobs must read.
 */
export function publicDir(prefix = "jobworker-test-"): { path: string; remove: () => void } {
  const path = mkdtempSync(join(process.getuid?.() === 0 ? "/var/lib" : tmpdir(), prefix));
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
