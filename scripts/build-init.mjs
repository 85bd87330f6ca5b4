#!/usr/bin/env node
// Part of `npm run build`: compiles native/jobworker-init.c, the helper that gives each
// job its own namespaces (docs/design.md, "Isolation"), to dist/native/jobworker-init.
// Static, so that no dynamic loader runs in it while it is root (LD_PRELOAD of a job's
// environment). Where no C compiler (or no static libc) is found, the build goes on
// without it and `serve` reports that jobs are not isolated.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "native", "jobworker-init");
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC || "cc";
const result = spawnSync(cc, ["-static", "-O2", "-Wall", "-o", out, join(root, "native", "jobworker-init.c")], { encoding: "utf8" });
if (result.status !== 0) {
  rmSync(out, { force: true });
  const why = result.error ? `${cc} not found` : result.stderr.trim().split("\n")[0];
  console.warn(`jobworker: the namespace helper was not built (${why}); jobs will not be isolated. Install a C compiler and static libc (Debian: gcc libc6-dev) and rebuild.`);
}
