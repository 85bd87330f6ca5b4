#!/usr/bin/env node
// Part of `npm run build`: compiles jobworker-launcher into dist/native/. It starts every
// job of a pool, so that the server's thread never forks, and makes isolated jobs' namespaces
// and their init (docs/design.md, "The start path"; its protocol: native/PROTOCOL.md).
// Static, so that no dynamic loader runs in it while it is root (LD_PRELOAD of a job's
// environment); hardened, and every warning an error. Where no C compiler (or no static
// libc) is found, the build goes on without it: `serve` then says how jobs are started.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const native = join(root, "native");
const cc = process.env.CC || "cc";
const name = "jobworker-launcher";
const sources = ["jobworker-launcher.c", "job-init.c", "confine.c"].map((file) => join(native, file));
const flags = ["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-Wformat=2", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong", "-std=gnu11"];

mkdirSync(join(root, "dist", "native"), { recursive: true });
// The standalone namespace helper of earlier builds: every job now starts through the launcher.
rmSync(join(root, "dist", "native", "jobworker-init"), { force: true });
const out = join(root, "dist", "native", name);
const result = spawnSync(cc, [...flags, "-o", out, ...sources], { encoding: "utf8" });
if (result.status !== 0) {
  rmSync(out, { force: true });
  const why = result.error ? `${cc} not found` : (result.stderr.trim().split("\n")[0] ?? `${cc} failed`);
  console.warn(`jobworker: ${name} was not built (${why}). To build it, install a C compiler and static libc (Debian: apt-get install gcc libc6-dev) and run npm run build again.`);
}
