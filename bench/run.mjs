// `npm run bench`: runs every benchmark file in bench/ (all but this one) in its own
// process, one after another, so that one's memory and load never colour another's.
// Each is plain node on the built dist/: no loader slows a baseline.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((name) => name.endsWith(".mjs") && name !== "run.mjs")
  .filter((name) => only.length === 0 || only.some((s) => name.includes(s)))
  .sort();
let failed = 0;
for (const name of files) {
  console.log(`\n== ${name}`);
  const result = spawnSync(process.execPath, [join(here, name)], { stdio: "inherit" });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
