import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PkiError, parseHost, validateClientName } from "../../src/pki/index.js";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PkiError, `expected a PkiError, got ${String(err)}`);
    return err.code;
  }
  return undefined;
}

describe("validateClientName", () => {
  it("accepts sensible names", () => {
    for (const name of ["alice", "default", "ci-runner_2", "bob@example.com", "a", "x".repeat(64), "v1.2"]) {
      assert.equal(validateClientName(name), name);
    }
  });

  it("refuses names that are unsafe as a file name or CN", () => {
    const bad = ["", "../x", "..", ".", ".hidden", "a/b", "a\\b", "tab\there", "nl\nx", "nul\u0000", "del\u007f", "x".repeat(65), "with space", "semi;colon", "ünï", "a*b"];
    for (const name of bad) {
      assert.equal(code(() => validateClientName(name)), "PKI_INVALID_NAME", `accepted ${JSON.stringify(name)}`);
    }
    assert.equal(code(() => validateClientName(42)), "PKI_INVALID_NAME");
  });

  it("says what is wrong, on one line, with a hint", () => {
    try {
      validateClientName("evil\nname");
      assert.fail("accepted");
    } catch (err) {
      assert.ok(err instanceof PkiError);
      assert.match(err.message, /control character/);
      assert.ok(!err.message.includes("\n"), "message must stay on one line");
      assert.match(err.hint ?? "", /letters, digits/);
    }
  });
});

describe("parseHost", () => {
  it("classifies DNS names and IP addresses", () => {
    assert.deepEqual(parseHost("localhost"), { type: "dns", value: "localhost" });
    assert.deepEqual(parseHost("Build-01.Example.COM."), { type: "dns", value: "build-01.example.com" });
    assert.deepEqual(parseHost("*.example.com"), { type: "dns", value: "*.example.com" });
    assert.deepEqual(parseHost("127.0.0.1"), { type: "ip", value: "127.0.0.1" });
    assert.deepEqual(parseHost("::1"), { type: "ip", value: "::1" });
    assert.deepEqual(parseHost("[2001:DB8::0:1]"), { type: "ip", value: "2001:db8::1" });
    assert.deepEqual(parseHost("::ffff:10.1.2.3"), { type: "ip", value: "::ffff:a01:203" });
  });

  it("refuses anything else", () => {
    for (const host of ["", " ", "a b", "bad_host", "-lead.example", "trail-.example", "300.1.1.1", "1.2.3", "fe80::1%eth0", "a..b", "*.com", "x".repeat(64) + ".com", "exa/mple"]) {
      assert.equal(code(() => parseHost(host)), "PKI_INVALID_HOST", `accepted ${JSON.stringify(host)}`);
    }
  });
});
