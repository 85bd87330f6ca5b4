// GET /openapi.json through real mTLS clients: served to any identity, equal to the
// committed docs/openapi.json, a valid OpenAPI 3.1 document (@apidevtools/swagger-parser),
// listing exactly the routes the server has, and describing what the server really
// answers (real answers validated against the documented schemas with Ajv).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { Ajv } from "ajv";
import { agentFor, call, startHarness, waitEnded, type Answer, type Harness } from "./fixture.js";

const REGENERATE = "docs/openapi.json is not what the server generates: run `npm run openapi` and commit docs/openapi.json (docs/design.md, \"The OpenAPI document\")";

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>; [key: string]: unknown };

describe("GET /openapi.json", () => {
  let h: Harness;
  let served: Doc;
  before(async () => {
    h = await startHarness({ admins: ["alice"] });
    const agent = agentFor(h.pki.ca.certPem, h.alice);
    const answer = await call(agent, `${h.server.url}/openapi.json`);
    await agent.close();
    assert.equal(answer.status, 200, answer.text);
    served = answer.json as Doc;
  });
  after(async () => {
    await h?.close();
  });

  it("is served as JSON to any authenticated identity, and to no one without a certificate", async () => {
    for (const creds of [h.alice, h.bob]) {
      const agent = agentFor(h.pki.ca.certPem, creds);
      const answer = await call(agent, `${h.server.url}/openapi.json`);
      await agent.close();
      assert.equal(answer.status, 200, answer.text);
      assert.match(String(answer.headers["content-type"]), /^application\/json/);
      assert.deepEqual(answer.json, served);
    }
    const anonymous = agentFor(h.pki.ca.certPem);
    await assert.rejects(call(anonymous, `${h.server.url}/openapi.json`));
    await anonymous.close();
  });

  it("refuses a query parameter like any route", async () => {
    const agent = agentFor(h.pki.ca.certPem, h.alice);
    const answer = await call(agent, `${h.server.url}/openapi.json?format=yaml`);
    await agent.close();
    assert.equal(answer.status, 400, answer.text);
    assert.equal(answer.json.code, "INVALID_REQUEST");
  });

  it("is the committed docs/openapi.json", async () => {
    const committed = JSON.parse(await readFile(new URL("../../docs/openapi.json", import.meta.url), "utf8"));
    assert.deepEqual(served, committed, REGENERATE);
  });

  it("is linked from docs/api.md, with a $CURL example", async () => {
    const api = await readFile(new URL("../../docs/api.md", import.meta.url), "utf8");
    assert.match(api, /\[docs\/openapi\.json\]\(openapi\.json\)/);
    assert.match(api, /^\$CURL \S+\/openapi\.json/m);
  });

  it("is a valid OpenAPI 3.1 document, with mutual TLS as its one security scheme", async () => {
    const api = await SwaggerParser.validate(structuredClone(served) as never);
    assert.equal((api as { openapi: string }).openapi, "3.1.0");
    assert.deepEqual(served.security, [{ mutualTLS: [] }]);
    assert.equal((served.components as { securitySchemes: Record<string, { type: string }> }).securitySchemes.mutualTLS?.type, "mutualTLS");
  });

  it("lists every route the server has, and only those; the others answer 405", async () => {
    const documented = new Set<string>();
    for (const [path, operations] of Object.entries(served.paths)) {
      for (const method of Object.keys(operations)) documented.add(`${method.toUpperCase()} ${path.replaceAll(/\{(\w+)\}/g, ":$1")}`);
    }
    const routes = new Set(h.server.routes.map((r) => `${r.method} ${r.url}`));
    for (const route of documented) assert.ok(routes.has(route), `the document lists ${route}, which the server does not have`);
    const agent = agentFor(h.pki.ca.certPem, h.alice);
    const undocumented = [...routes].filter((route) => !documented.has(route));
    assert.ok(undocumented.length > 0, "the 405 routes exist");
    for (const route of undocumented) {
      const [method, url] = route.split(" ") as [string, string];
      const res = await agent.request({ origin: h.server.url, path: url.replace(":id", "0b6c1b0e-8f3c-4a57-9f0a-3f1c2f3a9d41"), method });
      const text = await res.body.text();
      assert.equal(res.statusCode, 405, `${route} is not in the document, so it must be a 405 answer, not ${res.statusCode} ${text}: add a schema with ROUTE_DOCS (src/server/route-docs.ts) and run \`npm run openapi\``);
      if (method !== "HEAD") assert.equal(JSON.parse(text).code, "METHOD_NOT_ALLOWED");
    }
    await agent.close();
  });

  it("describes what the server really answers, on every documented route", async () => {
    const api = (await SwaggerParser.dereference(structuredClone(served) as never)) as unknown as Doc;
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const seen = new Set<string>();
    /** Asserts that `answer` to `method template` is documented: its status, content type and body. */
    function conforms(method: string, template: string, answer: Answer): void {
      const operation = api.paths[template]?.[method.toLowerCase()];
      assert.ok(operation, `${method} ${template} is documented`);
      seen.add(`${method} ${template}`);
      const response = operation.responses[String(answer.status)] ?? operation.responses.default;
      assert.ok(response, `${method} ${template} documents status ${answer.status}`);
      const where = `${method} ${template} ${answer.status}: ${answer.text.slice(0, 300)}`;
      if (!response.content) {
        assert.equal(answer.text, "", `${where}: documented as an empty body`);
        return;
      }
      const type = String(answer.headers["content-type"]).split(";")[0]!;
      const content = response.content[type];
      assert.ok(content, `${where}: content type ${type} is documented (${Object.keys(response.content).join(", ")})`);
      if (type !== "application/json") return;
      const validate = ajv.compile(content.schema);
      assert.ok(validate(answer.json), `${where}: ${ajv.errorsText(validate.errors)}`);
    }

    const agent = agentFor(h.pki.ca.certPem, h.alice);
    const base = h.server.url;
    const ask = async (method: "GET" | "PUT" | "POST" | "DELETE", template: string, path: string, body?: unknown, headers?: Record<string, string>) => {
      const answer = await call(agent, `${base}${path}`, method, body, headers);
      conforms(method, template, answer);
      return answer;
    };
    const unknownId = "0b6c1b0e-8f3c-4a57-9f0a-3f1c2f3a9d41";

    // Successes, with records of each kind: completed, error, timed out, with stdin.
    const done = (await ask("PUT", "/jobs", "/jobs", { cmd: "sh", args: ["-c", "echo out; echo err >&2; exit 3"] })).json.id as string;
    const failed = (await ask("PUT", "/jobs", "/jobs", { cmd: "/no/such/program" })).json.id as string;
    const timed = (await ask("PUT", "/jobs", "/jobs", { cmd: "sleep", args: ["30"], timeout_ms: 50 })).json.id as string;
    const reader = (await ask("PUT", "/jobs", "/jobs", { cmd: "cat", stdin: true })).json.id as string;
    // Signalled while it runs (SIGCONT changes nothing for cat); refused once it has ended, below.
    await ask("POST", "/jobs/{id}/signal", `/jobs/${reader}/signal`, { signal: "SIGCONT" });
    await ask("POST", "/jobs/{id}/signal", `/jobs/${reader}/signal`, { signal: "SIGNOPE" });
    await ask("POST", "/jobs/{id}/signal", `/jobs/${reader}/signal`, { nope: 1 });
    await ask("PUT", "/jobs/{id}/stdin", `/jobs/${reader}/stdin`, "typed in", { "content-type": "application/octet-stream" });
    for (const id of [done, failed, timed, reader]) {
      await waitEnded(agent, base, id);
      await ask("GET", "/jobs/{id}/status", `/jobs/${id}/status?wait=1`);
      await ask("GET", "/jobs/{id}", `/jobs/${id}`);
    }
    assert.equal((await ask("GET", "/jobs/{id}", `/jobs/${timed}`)).json.timed_out, true);
    assert.equal((await ask("GET", "/jobs/{id}", `/jobs/${failed}`)).json.error_code, "COMMAND_NOT_FOUND");
    assert.equal((await ask("GET", "/jobs", "/jobs?limit=2")).json.jobs.length, 2);
    assert.deepEqual((await ask("GET", "/jobs/{id}/output", `/jobs/${reader}/output`)).json, { stdout: "typed in", stderr: "" });
    assert.equal((await ask("GET", "/jobs/{id}/stdout", `/jobs/${done}/stdout`)).text, "out\n");
    assert.equal((await ask("GET", "/jobs/{id}/stderr", `/jobs/${done}/stderr?follow=true`)).text, "err\n");
    assert.equal((await ask("GET", "/jobs/{id}/stdout", `/jobs/${done}/stdout?tail=1&since=1h`)).text, "out\n");
    const log = (await ask("GET", "/jobs/{id}/log", `/jobs/${done}/log?follow=true`)).text.trimEnd().split("\n").map((l) => JSON.parse(l));
    const logSchema = api.paths["/jobs/{id}/log"]?.get?.responses["200"]?.content?.["application/x-ndjson"]?.schema;
    assert.ok(logSchema, "the log's lines have a schema");
    const validateChunk = ajv.compile(logSchema);
    for (const chunk of log) assert.ok(validateChunk(chunk), ajv.errorsText(validateChunk.errors));
    assert.equal(log.length, 2);
    await ask("GET", "/jobs/{id}/log", `/jobs/${done}/log?tail=x`);
    await ask("POST", "/jobs/{id}/stop", `/jobs/${done}/stop`);
    await ask("DELETE", "/jobs/{id}", `/jobs/${done}`);
    await ask("GET", "/healthz", "/healthz");
    await ask("GET", "/openapi.json", "/openapi.json");
    await ask("GET", "/metrics", "/metrics");
    const notAdmin = agentFor(h.pki.ca.certPem, h.bob);
    conforms("GET", "/metrics", await call(notAdmin, `${base}/metrics`));
    await notAdmin.close();

    // Refusals: JSON error bodies, and the empty-body 404s of status and output.
    await ask("PUT", "/jobs", "/jobs", { cmd: "" });
    await ask("PUT", "/jobs", "/jobs", "{", { "content-type": "application/json" });
    await ask("PUT", "/jobs", "/jobs", "cmd=ls", { "content-type": "text/plain" });
    await ask("GET", "/jobs", "/jobs?limit=0");
    await ask("PUT", "/jobs/{id}/stdin", `/jobs/${reader}/stdin`, "late", { "content-type": "application/octet-stream" });
    for (const template of ["/jobs/{id}", "/jobs/{id}/status", "/jobs/{id}/output", "/jobs/{id}/stdout", "/jobs/{id}/stderr", "/jobs/{id}/log"]) {
      const answer = await ask("GET", template, template.replace("{id}", unknownId));
      assert.equal(answer.status, 404);
    }
    await ask("POST", "/jobs/{id}/stop", `/jobs/${unknownId}/stop`);
    await ask("POST", "/jobs/{id}/signal", `/jobs/${unknownId}/signal`, { signal: "SIGTERM" });
    await ask("POST", "/jobs/{id}/signal", `/jobs/${reader}/signal`, { signal: "SIGTERM" });
    await ask("DELETE", "/jobs/{id}", `/jobs/${unknownId}`);
    await agent.close();

    const operations = Object.entries(api.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    assert.deepEqual(operations.filter((op) => !seen.has(op)), [], "every documented operation was checked against a real answer");
  });
});
