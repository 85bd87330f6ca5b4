#!/usr/bin/env node
// `npm run package` (after `npm run build`): writes jobworker-<version>-linux-<arch>-node<major>.tar.gz,
// the whole program with its native parts built (DESIGN.md section 7; docs/deploy.md).
// It unpacks to jobworker-<version>/, whose bin/jobworker is the command, and needs
// nothing on the host but Node.js of the same major version: no compiler, no registry.
// It holds dist/ (with the static launcher), the production node_modules exactly as
// package-lock.json has them (better-sqlite3 with its compiled .node, for this Node's
// ABI), package.json (dist/ is ESM by its "type"), the unit, the README and the docs.
//
// Usage: node scripts/package.mjs [--out-dir DIR]   (default: the current directory)
import { spawnSync } from "node:child_process";
import { accessSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
const major = process.versions.node.split(".")[0];
const folder = `jobworker-${pkg.version}`;
const name = `${folder}-linux-${process.arch}-node${major}.tar.gz`;

function fail(message, fix) {
  console.error(`package: ${message}\n  fix: ${fix}`);
  process.exit(1);
}

const outIndex = process.argv.indexOf("--out-dir");
const outDir = resolve(outIndex >= 0 ? (process.argv[outIndex + 1] ?? fail("--out-dir needs a directory", "give one")) : process.cwd());
if (process.platform !== "linux") fail(`the package is for Linux; this is ${process.platform}`, "build it on a Linux host of the target architecture");

// Every native part must be there and built for this Node: the package is useless otherwise.
const launcher = join(root, "dist", "native", "jobworker-launcher");
try {
  accessSync(launcher, constants.X_OK);
} catch {
  fail(`${launcher} is missing: the C launcher was not built`, "install a C compiler and static libc (Debian: apt-get install gcc libc6-dev), then npm run build");
}
const sqliteAddon = join(root, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node");
try {
  const Database = createRequire(join(root, "package.json"))("better-sqlite3");
  new Database(":memory:").close();
} catch (err) {
  fail(`better-sqlite3 does not load in Node.js ${process.versions.node}: ${err.message.split("\n")[0]}`, "npm rebuild better-sqlite3 (or npm ci) with the Node.js the package is for");
}

/** The production packages of package-lock.json, each as its path under the root. */
function productionPackages() {
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith("node_modules/") && !entry.dev && !entry.link)
    .map(([path]) => path)
    .filter((path) => existsSync(join(root, path)) || fail(`${path} is in package-lock.json but not installed`, "npm ci"));
}

// What a running jobworker never reads: better-sqlite3's sources and build by-products
// (the .node alone is loaded), and every package's own nested node_modules (each nested
// production package is a lock entry of its own, copied by itself).
function keep(path) {
  const rel = path.slice(root.length + 1);
  if (rel.endsWith("/node_modules")) return false;
  if (rel.startsWith("node_modules/better-sqlite3/")) {
    const inner = rel.slice(`node_modules/better-sqlite3/`.length);
    if (/^(deps|src)(\/|$)/.test(inner)) return false;
    if (inner.startsWith("build/") && !["build/Release", "build/Release/better_sqlite3.node"].includes(inner)) return false;
  }
  return true;
}

const staging = mkdtempSync(join(tmpdir(), "jobworker-package-"));
try {
  const top = join(staging, folder);
  mkdirSync(top);
  cpSync(join(root, "dist"), join(top, "dist"), { recursive: true });
  for (const file of ["package.json", "package-lock.json", "README.md"]) cpSync(join(root, file), join(top, file));
  cpSync(join(root, "docs"), join(top, "docs"), { recursive: true });
  cpSync(join(root, "deploy"), join(top, "deploy"), { recursive: true });
  const packages = productionPackages();
  for (const path of packages) cpSync(join(root, path), join(top, path), { recursive: true, filter: keep, verbatimSymlinks: true });
  if (!existsSync(join(top, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"))) fail("better-sqlite3's .node was not copied", "report this: the copy filter is wrong");
  mkdirSync(join(top, "bin"));
  // A relative link: Node follows it to dist/cli/main.js, whose imports then resolve in the package.
  symlinkSync("../dist/cli/main.js", join(top, "bin", "jobworker"));

  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, name);
  // Files owned by root, in name order: the same tree unpacks the same everywhere.
  const tar = spawnSync("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-czf", out, "-C", staging, folder], { stdio: "inherit" });
  if (tar.status !== 0) fail(`tar failed (${tar.error?.message ?? `exit ${tar.status}`})`, "install GNU tar");
  console.log(`wrote ${out}`);
  console.log(`  ${packages.length} production packages; needs Linux ${process.arch}, Node.js ${major}.x, ${needsOf(sqliteAddon)} (better-sqlite3's .node; the launcher is static)`);
} finally {
  rmSync(staging, { recursive: true, force: true });
}

/** The newest glibc and libstdc++ symbol versions a shared object asks for, read from its bytes. */
function needsOf(file) {
  const text = readFileSync(file, "latin1");
  const newest = (prefix) =>
    [...text.matchAll(new RegExp(`${prefix}_(\\d+(?:\\.\\d+)+)`, "g"))]
      .map((m) => m[1])
      .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
      .at(-1);
  return [`glibc ${newest("GLIBC") ?? "?"}`, `libstdc++ GLIBCXX_${newest("GLIBCXX") ?? "?"}`].join(", ");
}
