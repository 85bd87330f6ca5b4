#!/usr/bin/env node
// `npm run openapi`: regenerates docs/openapi.json, the committed copy of the OpenAPI
// document. It starts the real server (the built dist/, on 127.0.0.1 port 0, with a
// throwaway CA and data directory), asks it for GET /openapi.json over mutual TLS like
// any client, and writes the answer, indented. test/server/openapi.test.ts fails while
// the committed copy differs from what the server serves: run this after changing a
// route or a schema, and commit the result.
import { get } from "node:https";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createCa, issueCert } from "../dist/pki/index.js";
import { startServer } from "../dist/server/index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "docs", "openapi.json");

const dir = await mkdtemp(join(tmpdir(), "jobworker-openapi-"));
try {
  const ca = await createCa();
  const [server, client] = await Promise.all([issueCert(ca, { kind: "server" }), issueCert(ca, { kind: "client", commonName: "openapi" })]);
  const files = { caFile: join(dir, "ca.pem"), certFile: join(dir, "server.pem"), keyFile: join(dir, "server.key") };
  await Promise.all([writeFile(files.caFile, ca.certPem), writeFile(files.certFile, server.certPem), writeFile(files.keyFile, server.keyPem, { mode: 0o600 })]);
  const running = await startServer({ ...files, pool: { dataDir: join(dir, "data"), isolation: false }, auditLog: false, log: () => {} });
  try {
    const text = await fetchText(`${running.url}/openapi.json`, { ca: ca.certPem, cert: client.certPem, key: client.keyPem, servername: "localhost" });
    await writeFile(target, `${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    console.log(`wrote ${target}`);
  } finally {
    await running.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** GET `url` with the given TLS options; the body on 200, else an error naming the status. */
function fetchText(url, tls) {
  return new Promise((resolvePromise, reject) => {
    get(url, tls, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode === 200) resolvePromise(body);
        else reject(new Error(`GET ${url} answered ${res.statusCode}: ${body}`));
      });
      res.on("error", reject);
    }).on("error", reject);
  });
}
