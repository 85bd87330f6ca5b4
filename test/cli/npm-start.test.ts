// `npm start` while a server runs on the same data directory: refused in one line by the
// lock, before anything is built (dist/, the launcher included, stays as the live server
// loaded it). The normal path, build then serve, is what `npm start` always did; it is
// not run here, since rebuilding dist/ under the other test files would disturb them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { serve, type Serving } from "../e2e/fixtures.js";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BUILT = ["dist/cli/main.js", "dist/engine/job-pool.js", "dist/native/jobworker-launcher"].map((path) => join(ROOT, path));

describe("npm start twice", () => {
  let home: string;
  let live: Serving;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), "jobworker-npm-start-"));
    live = await serve(home);
  });
  after(async () => {
    live?.child.kill("SIGTERM");
    await live?.exited;
    await rm(home, { recursive: true, force: true });
  });

  it("refuses in one line naming the live server, and rebuilds nothing", () => {
    const before = BUILT.map((path) => statSync(path).mtimeMs);
    const second = spawnSync("npm", ["start", "--silent", "--", "--home", home, "--listen", "127.0.0.1:0"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`^jobworker: another jobworker server \\(pid ${live.child.pid}\\) is using the data directory ${join(home, "data")} \\(stop that server first, or give this one its own --data-dir; nothing was rebuilt\\)\\n$`));
    assert.deepEqual(BUILT.map((path) => statSync(path).mtimeMs), before);
  });
});
