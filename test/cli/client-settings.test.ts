// The client's settings, one by one: a flag beats the environment, which beats the
// context of <home>/config.json, which beats the defaults (docs/cli.md, "Contexts").
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { resolveClientSettings } from "../../src/cli/options/client.js";

describe("client settings", () => {
  const home = mkdtempSync(join(tmpdir(), "jobworker-settings-"));
  after(() => rmSync(home, { recursive: true, force: true }));
  const ctx = { server: "https://ctx:1", ca: "/ctx/ca.pem", cert: "/ctx/c.pem", key: "/ctx/c.key" };
  writeFileSync(join(home, "config.json"), JSON.stringify({ current_context: "c", contexts: { c: ctx, d: { ...ctx, server: "https://d:1" } } }));
  const env = { JOBWORKER_HOME: home };

  it("takes each setting from the current context when no flag or variable gives it", () => {
    assert.deepEqual(resolveClientSettings({}, env), { url: ctx.server, caFile: ctx.ca, certFile: ctx.cert, keyFile: ctx.key, home, context: "c" });
  });
  it("lets a variable beat the context and a flag beat the variable, each on its own", () => {
    const s = resolveClientSettings({ ca: "/flag/ca.pem", server: "https://flag:1" }, { ...env, JOBWORKER_CA: "/env/ca.pem", JOBWORKER_KEY: "/env/k.key", JOBWORKER_SERVER: "https://env:1" });
    assert.deepEqual(s, { url: "https://flag:1", caFile: "/flag/ca.pem", certFile: ctx.cert, keyFile: "/env/k.key", home, context: "c" });
  });
  it("selects a context by --context, else JOBWORKER_CONTEXT, else the current one", () => {
    assert.equal(resolveClientSettings({}, { ...env, JOBWORKER_CONTEXT: "d" }).url, "https://d:1");
    assert.equal(resolveClientSettings({ context: "c" }, { ...env, JOBWORKER_CONTEXT: "d" }).url, ctx.server);
    assert.throws(() => resolveClientSettings({ context: "x" }, env), { code: "CONTEXT_NOT_FOUND" });
  });
  it("uses the defaults of the home without a config.json", () => {
    const empty = mkdtempSync(join(tmpdir(), "jobworker-settings-"));
    try {
      assert.deepEqual(resolveClientSettings({}, { JOBWORKER_HOME: empty }), {
        url: "https://127.0.0.1:8443",
        caFile: join(empty, "pki/ca.pem"),
        certFile: join(empty, "pki/clients/default.pem"),
        keyFile: join(empty, "pki/clients/default.key"),
        home: empty,
      });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
