// The pool's health check: a writable data directory with room is fine; a read-only one
// (a real read-only bind mount, which binds even root) is named as such.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { dataDirHealth } from "../../src/engine/data-dir-health.js";

test("a writable data directory with room is healthy; a read-only store is not, with the reason", (t) => {
  const base = mkdtempSync(join(tmpdir(), "jobworker-health-"));
  try {
    const data = join(base, "data");
    const readOnly = join(base, "read-only");
    mkdirSync(data);
    mkdirSync(readOnly);
    writeFileSync(join(data, "jobs.db"), "");
    assert.deepEqual(dataDirHealth(data), { ok: true });
    assert.deepEqual(dataDirHealth(join(base, "missing")), { ok: false, reason: "the job store is not writable (ENOENT)" });
    if (spawnSync("mount", ["--bind", "-o", "ro", data, readOnly]).status !== 0) {
      t.skip("cannot bind-mount here (needs root)");
      return;
    }
    try {
      // Older mount(8) ignores ro on the first bind: make sure.
      spawnSync("mount", ["-o", "remount,bind,ro", readOnly]);
      assert.deepEqual(dataDirHealth(readOnly), { ok: false, reason: "the job store is not writable (EROFS)" });
    } finally {
      spawnSync("umount", [readOnly]);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
