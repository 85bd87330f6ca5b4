// Shared by the test/pki files: temporary directories and the real openssl binary.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { chmod, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const created: string[] = [];
// Removed when the test process exits rather than in an `after` hook: an `after`
// registered from inside a `before` hook would run before the suite's tests.
process.on("exit", () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the test file's process exits. */
export async function tempDir(prefix = "jobworker-pki-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Restores write permission on a directory a test made read-only, so cleanup works. */
export async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined);
}

/** Runs openssl with `args`; returns its exit status and both outputs (merged in `all`). */
export function openssl(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string; all: string } {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stdout}${r.stderr}` };
}

/** `openssl x509 -text -noout` of a PEM file. */
export function certText(path: string): string {
  const r = openssl(["x509", "-in", path, "-noout", "-text"]);
  if (r.status !== 0) throw new Error(`openssl x509 failed: ${r.stderr}`);
  return r.stdout;
}

/** Whether the current process runs as root (file permissions do not stop root). */
export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** Every file under `dir` with its content and mode: to show a refused command changed nothing. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const { readdir, readFile, stat } = await import("node:fs/promises");
  const out: Record<string, string> = {};
  async function walk(d: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const path = join(d, name);
      const st = await stat(path);
      if (st.isDirectory()) {
        out[`${path}/`] = st.mode.toString(8);
        await walk(path);
      } else out[path] = `${st.mode.toString(8)} ${st.mtimeMs} ${await readFile(path, "utf8")}`;
    }
  }
  await walk(dir);
  return out;
}
