// The error table, pinned like fastify's test/internals/errors.test.js: the protocol's
// list of codes, the server's statuses, the client's mapping and docs/api.md say the same.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CODE_MAPPINGS, httpError } from "../../src/client/http-errors.js";
import { ERROR_CODES } from "../../src/protocol/error-codes.js";
import { ERRORS } from "../../src/server/errors.js";
import { HttpError } from "../../src/server/http-error.js";

const apiMd = readFileSync(fileURLToPath(new URL("../../docs/api.md", import.meta.url)), "utf8");

/** The rows "| `CODE` | 400 | …" of docs/api.md's error table. */
function documentedCodes(): Map<string, number> {
  const rows = [...apiMd.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)];
  return new Map(rows.map((m) => [m[1]!, Number(m[2])]));
}

describe("error table", () => {
  it("the server's table has exactly the protocol's codes, each a 4xx or 5xx", () => {
    assert.deepEqual(Object.keys(ERRORS).sort(), [...ERROR_CODES].sort());
    for (const [code, { status }] of Object.entries(ERRORS)) assert.ok(status >= 400 && status < 600, code);
  });

  it("docs/api.md lists every code with the server's status, and nothing else", () => {
    const documented = documentedCodes();
    assert.deepEqual([...documented.keys()].sort(), [...ERROR_CODES].sort());
    for (const code of ERROR_CODES) assert.equal(documented.get(code), ERRORS[code].status, code);
  });

  it("the client maps every code, and by code alone (not by status or wording)", () => {
    assert.deepEqual(Object.keys(CODE_MAPPINGS).sort(), [...ERROR_CODES].sort());
    for (const code of ERROR_CODES) {
      // A status that does not match the code must not change the client's reading.
      const err = httpError(418, JSON.stringify({ error: "some words", code }), "https://x:1", "job-1");
      assert.equal(err.code, CODE_MAPPINGS[code].code, code);
      assert.equal(err.serverCode, code);
      assert.equal(err.status, 418);
    }
  });

  it("every server error body is {error, code}", () => {
    for (const code of ERROR_CODES) assert.deepEqual(new HttpError(code).body(), { error: ERRORS[code].message, code });
    assert.equal(new HttpError("JOB_NOT_FOUND", undefined, { emptyBody: true }).body(), undefined);
  });

  it("a full disk reaches the user as such, not as a generic server failure", () => {
    const err = httpError(507, JSON.stringify({ error: ERRORS.STORAGE_FULL.message, code: "STORAGE_FULL" }), "https://x:1");
    assert.equal(err.code, "SERVER_STORAGE_FULL");
    assert.match(err.message, /disk is full/);
    assert.match(err.hint ?? "", /free space/);
  });

  it("an answer without a jobworker code is not guessed at; the empty 404 of status/output is a missing job", () => {
    assert.equal(httpError(400, '{"error":"nope"}', "https://x:1").code, "SERVER_ERROR");
    assert.equal(httpError(502, "<html>bad gateway</html>", "https://x:1").code, "SERVER_ERROR");
    const missing = httpError(404, "", "https://x:1", "abc");
    assert.equal(missing.code, "JOB_NOT_FOUND");
    assert.match(missing.message, /no such job: abc/);
  });
});
