// The three ways a job's cgroup is killed, each on this host's real cgroups: v2
// cgroup.kill (the default here), the v1 freezer, and SIGKILL rounds from cgroup.procs
// (hosts with neither). A pool picks one; these drive JobCgroup directly.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { after, describe, it } from "node:test";
import { detectCgroups, type Hierarchy } from "../../src/engine/cgroups/detect.js";
import { JobCgroup, rmdirQuietly, type KillMethod } from "../../src/engine/cgroups/job-cgroup.js";
import { isAlive } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp-dir.js";

const dir = tempDir();
const detection = process.getuid?.() === 0 ? detectCgroups(dir.path) : undefined;
const candidates: [KillMethod, Hierarchy | undefined][] = [
  ["cgroup.kill", detection?.v2?.hasKill ? detection.v2 : undefined],
  ["freezer", detection?.v1.get("freezer")],
  ["procs", detection?.v1.get("pids") ?? detection?.v2],
];

describe("killing every process of a job's cgroup", () => {
  after(() => {
    for (const h of new Set([detection?.v2, ...(detection?.v1.values() ?? [])])) if (h) rmdirQuietly(h.poolDir);
    dir.remove();
  });

  for (const [method, hierarchy] of candidates) {
    const skip = !detection ? "needs root (cgroups)" : !hierarchy && `no hierarchy for ${method} on this host`;
    it(`${method}: kills a tree with a setsid escapee and a busy forker, then the cgroup is removed`, { skip }, async () => {
      const part = { hierarchy: hierarchy!, dir: `${hierarchy!.poolDir}/kill-test-${method.replace(".", "-")}` };
      const cgroup = JobCgroup.create(`kill-test-${method}`, { parts: [part], killer: part, killMethod: method, byController: {}, limits: {}, ioDevice: undefined });
      let child;
      try {
        // The child places itself, as the launcher's children do; then a setsid'd sleeper,
        // and a loop that keeps forking short-lived processes.
        const [procs] = cgroup.procsFiles();
        child = spawn("sh", ["-c", `echo 0 > ${procs}; setsid sleep 1000 & while :; do /bin/true; done`], { stdio: "ignore", detached: true });
        for (const deadline = Date.now() + 10_000; cgroup.members().length < 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
        const before = cgroup.members();
        assert.ok(before.length >= 2, `the tree is in the cgroup (${before.length} processes)`);
        assert.ok(!before.includes(process.pid), "the server left the cgroup after spawning");
        await cgroup.killAll();
        assert.deepEqual(cgroup.members(), []);
        for (const pid of before) assert.equal(isAlive(pid), false, `process ${pid} is gone`);
      } finally {
        child?.kill("SIGKILL");
        await cgroup.killAll();
        assert.equal(await cgroup.remove(), true);
      }
      assert.equal(existsSync(part.dir), false);
    });
  }
});
