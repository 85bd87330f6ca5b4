#!/usr/bin/env node
// Part of `npm run build`: compiles the two native programs into dist/native/:
// - jobworker-launcher, which forks jobs so that the server's thread never does
//   (docs/design.md, "The start path");
// - jobworker-init, which gives a job started by the server's thread its own namespaces
//   (docs/design.md, "Isolation").
// Static, so that no dynamic loader runs in them while they are root (LD_PRELOAD of a
// job's environment). Where no C compiler (or no static libc) is found, the build goes on
// without them: `serve` then says that jobs are not isolated and are spawned by its thread.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const native = join(root, "native");
const cc = process.env.CC || "cc";
const programs = {
  "jobworker-init": "jobworker will not isolate jobs",
  "jobworker-launcher": "the server's thread will spawn jobs itself",
};
mkdirSync(join(root, "dist", "native"), { recursive: true });
for (const [name, without] of Object.entries(programs)) {
  const out = join(root, "dist", "native", name);
  const sources = [join(native, `${name}.c`), join(native, "job-init.c")];
  const result = spawnSync(cc, ["-static", "-O2", "-Wall", "-o", out, ...sources], { encoding: "utf8" });
  if (result.status !== 0) {
    rmSync(out, { force: true });
    const why = result.error ? `${cc} not found` : result.stderr.trim().split("\n")[0];
    console.warn(`jobworker: ${name} was not built (${why}); ${without}. Install a C compiler and static libc (Debian: gcc libc6-dev) and rebuild.`);
  }
}
