// What a client command loads at start-up (issue 12): the one bundled file and a few
// small modules of ours, never a package from node_modules (commander and the client are
// in the bundle; undici is not used at all), and nothing of the server, the engine (but
// its limits table) or x509.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CLI } from "../e2e/fixtures.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const hook = fileURLToPath(new URL("../fixtures/record-modules.mjs", import.meta.url));

/** The files (relative to the checkout) `jobworker ARGS` loads. */
function modulesLoadedBy(args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "jobworker-modules-"));
  try {
    const record = join(dir, "modules.txt");
    const r = spawnSync(process.execPath, ["--import", hook, CLI, ...args], {
      encoding: "utf8",
      env: { ...process.env, RECORD_MODULES: record, JOBWORKER_HOME: dir, JOBWORKER_SERVER: "https://127.0.0.1:1" },
    });
    assert.ok(r.status !== null, r.stderr);
    return readFileSync(record, "utf8").trim().split("\n").map((url) => relative(root, fileURLToPath(url))).sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("client command start-up", () => {
  it("`status` loads the bundle and a few small modules of ours, nothing from node_modules", () => {
    // It fails (no credentials in an empty home) after loading all it would load.
    const loaded = modulesLoadedBy(["status", "x"]);
    assert.deepEqual(
      loaded.filter((f) => !f.endsWith("main.js")),
      [
        "dist/pki/defaults.js",
        "dist/pki/paths.js",
        "dist/server/config-error.js",
        "dist/server/defaults.js",
        // The base class of the errors people read: one copy for the bundle and the rest.
        "dist/user-error.js",
      ],
    );
    assert.ok(loaded.includes("dist/cli/main.js"), loaded.join(", "));
    assert.ok(!loaded.some((f) => f.includes("node_modules")), loaded.join(", "));
  });
});
