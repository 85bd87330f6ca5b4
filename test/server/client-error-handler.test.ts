// Requests Node's HTTP parser refuses before fastify sees them (issue 10, found under
// fuzz): a JSON error with a code, `Connection: close`, an audit line, and a keep-alive
// client whose next request on the same pool succeeds.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { Agent, request } from "node:https";
import { connect } from "node:tls";
import { after, before, describe, test } from "node:test";
import { startHarness, type Harness } from "./fixture.js";

function get(agent: Agent, h: Harness, path: string): Promise<{ status: number; headers: IncomingMessage["headers"]; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: "127.0.0.1", port: h.server.port, path, agent, servername: "localhost" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => done({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", fail);
    req.end();
  });
}

describe("requests the HTTP parser refuses", () => {
  let h: Harness;
  let agent: Agent;
  before(async () => {
    h = await startHarness();
    // One keep-alive connection: a socket wrongly put back in the pool would be reused.
    agent = new Agent({ keepAlive: true, maxSockets: 1, ca: h.pki.ca.certPem, cert: h.alice.certPem, key: h.alice.keyPem });
  });
  after(async () => {
    agent.destroy();
    await h?.close();
  });

  test("a raw 0xE9 byte in the URL: 400 with a code and Connection: close, and the next request on the same agent succeeds", async () => {
    const auditBefore = h.audit.length;
    // Node sends U+00E9 in a path as the single byte 0xE9, unencoded.
    const refused = await get(agent, h, "/jobs/\u00e9");
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.connection, "close");
    assert.deepEqual(JSON.parse(refused.body), { error: "the request URL is not valid", code: "BAD_URL" });
    const next = await get(agent, h, "/jobs");
    assert.equal(next.status, 200, next.body);
    const line = h.audit.slice(auditBefore).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.status === 400);
    assert.ok(line, "the refusal is audited");
    assert.equal(line.identity, "alice");
    assert.equal(line.error_code, "BAD_URL");
  });

  test("headers too large: 431 with a code", async () => {
    const socket = connect({ host: "127.0.0.1", port: h.server.port, servername: "localhost", ca: h.pki.ca.certPem, cert: h.alice.certPem, key: h.alice.keyPem });
    await new Promise<void>((done, fail) => socket.once("secureConnect", done).once("error", fail));
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (c: string) => (answer += c));
    const closed = new Promise((done) => socket.once("close", done));
    socket.on("error", () => {});
    socket.write(`GET /jobs HTTP/1.1\r\nHost: localhost\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`);
    await closed;
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.match(answer, /\r\nConnection: close\r\n/i);
    assert.deepEqual(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)), { error: "the request headers are too large", code: "HEADERS_TOO_LARGE" });
  });
});
