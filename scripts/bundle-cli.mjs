#!/usr/bin/env node
// Part of `npm run build`, after tsc: bundles the `jobworker` command into one file,
// dist/cli/main.js, so that a client command loads one module instead of ~40 (our CLI
// and client files, commander's CommonJS files, which ESM could only import through the
// CommonJS lexer). Start-up is most of a client command's time (issue 12; bench/cli.mjs).
//
// Only src/cli, src/client and src/protocol (and the packages they use, commander) go into the bundle.
// Everything else of ours (the server, engine and PKI code, loaded by `serve` and
// `certs` when they run) stays external and is imported from tsc's output in dist/, so
// there is one copy of each of those modules and `instanceof` across them holds.
import { build } from "esbuild";
import { chmodSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const outfile = join(root, "dist", "cli", "main.js");
const bundled = [join(src, "cli"), join(src, "client"), join(src, "protocol")];

/** Leaves our modules outside src/cli and src/client to tsc's dist/ output. */
const keepOurOtherModulesExternal = {
  name: "keep-our-other-modules-external",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = resolve(args.resolveDir, args.path).replace(/\.js$/, ".ts");
      if (!target.startsWith(src + "/") || bundled.some((dir) => target.startsWith(dir + "/"))) return undefined;
      const built = join(root, "dist", relative(src, target)).replace(/\.ts$/, ".js");
      return { path: `./${relative(dirname(outfile), built)}`, external: true };
    });
  },
};

await build({
  entryPoints: [join(src, "cli", "main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // commander is CommonJS; its require() of Node's built-ins needs a real require.
  banner: { js: 'import { createRequire as __jobworkerCreateRequire } from "node:module";\nconst require = __jobworkerCreateRequire(import.meta.url);' },
  plugins: [keepOurOtherModulesExternal],
});
// Runnable as is (npm link and npm install set the mode too).
chmodSync(outfile, 0o755);
