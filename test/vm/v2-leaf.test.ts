// On a cgroup-v2-only host: a server alone in its cgroup moves into its `supervisor/` leaf
// and enables the controllers below; one that shares its cgroup with a process not its
// own (a shell it was started from) moves nothing and says why. Each server here is a
// child process started in a fresh cgroup, so it writes /sys/fs/cgroup: only in the VM
// of `npm run test:vm` (JOBWORKER_VM=1).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { delegatedPath } from "../../src/engine/cgroups/v2-leaf.js";
import { tempDir } from "../helpers/temp-dir.js";

const v2Only = existsSync("/sys/fs/cgroup/cgroup.controllers") && !readFileSync("/proc/self/mountinfo", "utf8").includes(" - cgroup ");
const skip = process.env.JOBWORKER_VM !== "1" ? "only in the VM of npm run test:vm (it writes /sys/fs/cgroup)" : !v2Only && "needs a cgroup-v2-only host";

const DETECT = new URL("../../src/engine/cgroups/detect.ts", import.meta.url).pathname;

/** Runs detectCgroups in a child placed in `cgroup` first; its own cgroup after, and the report. */
function detectIn(cgroup: string, dataDir: string): { own: string; problems: string[]; controllers: string[] } {
  const script = `
    import { detectCgroups } from ${JSON.stringify(DETECT)};
    import { readFileSync } from "node:fs";
    const d = detectCgroups(${JSON.stringify(dataDir)});
    console.log(JSON.stringify({ own: readFileSync("/proc/self/cgroup", "utf8").trim(), problems: d.problems, controllers: [...(d.v2?.controllers ?? [])].sort() }));`;
  const r = spawnSync("sh", ["-c", `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, "sh", process.execPath, "--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe("the server's leaf of its own cgroup (cgroup v2)", { skip }, () => {
  const dir = tempDir();
  // Below the cgroup delegated to this test (the root without systemd), with its controllers.
  const parent = join("/sys/fs/cgroup", skip ? "/" : delegatedPath(readFileSync("/proc/self/cgroup", "utf8").trim().replace(/^0::/, "")));
  const cgroup = join(parent, `leaf-test-${process.pid}`);
  after(() => {
    // Every process in them has exited: the directories go, deepest first.
    spawnSync("sh", ["-c", `find ${cgroup} -depth -type d -exec rmdir {} \\; 2>/dev/null`]);
    dir.remove();
  });

  it("with a process of another in its cgroup, moves nothing and says why; alone, moves and enables the controllers", async () => {
    if (!skip) writeFileSync(join(parent, "cgroup.subtree_control"), "+memory +cpu +pids +io");
    mkdirSync(cgroup);
    const stranger = spawn("sleep", ["1000"], { stdio: "ignore" });
    try {
      writeFileSync(join(cgroup, "cgroup.procs"), String(stranger.pid));
      const shared = detectIn(cgroup, join(dir.path, "a"));
      assert.equal(shared.own, `0::${cgroup.slice("/sys/fs/cgroup".length)}`, "it stayed where it was");
      assert.match(shared.problems.join("\n"), new RegExp(`holds processes that are not the server's \\(${stranger.pid}\\)`));
      assert.deepEqual(shared.controllers, []);
      assert.equal(existsSync(join(cgroup, "supervisor")), false);
    } finally {
      stranger.kill("SIGKILL");
      await new Promise((r) => stranger.once("exit", r));
    }
    const alone = detectIn(cgroup, join(dir.path, "b"));
    assert.equal(alone.own, `0::${cgroup.slice("/sys/fs/cgroup".length)}/supervisor`);
    assert.deepEqual(alone.problems, []);
    assert.deepEqual(alone.controllers, ["cpu", "io", "memory", "pids"]);
    assert.match(readFileSync(join(cgroup, "cgroup.subtree_control"), "utf8"), /cpu io memory pids/);
    // A second server started in the leaf (its child, a restart) takes the same cgroup.
    const again = detectIn(join(cgroup, "supervisor"), join(dir.path, "c"));
    assert.deepEqual(again.problems, []);
    assert.deepEqual(again.controllers, ["cpu", "io", "memory", "pids"]);
  });
});
