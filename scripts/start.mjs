#!/usr/bin/env node
// `npm start [-- FLAGS]`: builds, then runs `jobworker serve FLAGS` in this process. When
// a server already holds the data directory these flags name, it says so and stops
// before building: a build would rewrite dist/ (the launcher included) under that live
// server, only for the new `serve` to be refused by the lock a moment later.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { homedir } from "node:os";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const flags = process.argv.slice(2);

/** The value of `--name VALUE` or `--name=VALUE` among `flags`, the last one given. */
function flagValue(name) {
  let value;
  flags.forEach((flag, i) => {
    if (flag === name) value = flags[i + 1];
    else if (flag.startsWith(`${name}=`)) value = flag.slice(name.length + 1);
  });
  return value;
}

// The data directory as `serve` resolves it (src/cli/commands/serve.ts, src/pki/paths.ts).
const home = flagValue("--home") !== undefined ? resolve(flagValue("--home")) : process.env.JOBWORKER_HOME ? resolve(process.env.JOBWORKER_HOME) : join(homedir(), ".jobworker");
const dataDir = flagValue("--data-dir") !== undefined ? resolve(flagValue("--data-dir")) : join(home, "data");
const lockModule = join(root, "dist", "engine", "data-dir-lock.js");

if (existsSync(dataDir) && existsSync(lockModule)) {
  // In a child: this process must not keep the old build's modules for the new serve.
  const probe = `import { lockDataDir } from ${JSON.stringify(pathToFileURL(lockModule).href)};
try { lockDataDir(${JSON.stringify(dataDir)}).release(); } catch (err) { if (err.code !== "DATA_DIR_LOCKED") throw err; console.error(err.message); process.exit(3); }`;
  const held = spawnSync(process.execPath, ["--input-type=module", "-e", probe], { encoding: "utf8" });
  if (held.status === 3) {
    process.stderr.write(`jobworker: ${held.stderr.trim()} (stop that server first, or give this one its own --data-dir; nothing was rebuilt)\n`);
    process.exit(1);
  }
}

const npm = process.env.npm_execpath;
const build = npm ? spawnSync(process.execPath, [npm, "run", "build", "--silent"], { cwd: root, stdio: "inherit" }) : spawnSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

process.argv = [process.argv[0], join(root, "dist", "cli", "main.js"), "serve", ...flags];
await import(pathToFileURL(join(root, "dist", "cli", "main.js")).href);
