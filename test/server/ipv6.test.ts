// Listening on the IPv6 loopback: the URL, the certificate's ::1 SAN, and a real client.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { startHarness } from "./fixture.js";

const run = promisify(execFile);

test("serves on [::1], verified by curl against the ::1 SAN", async () => {
  const h = await startHarness({ host: "::1" });
  try {
    assert.match(h.server.url, /^https:\/\/\[::1\]:\d+$/);
    const { stdout } = await run("curl", [
      "-sS", "--tlsv1.3", "-g",
      "--cacert", h.pki.caFile, "--cert", h.alice.certFile, "--key", h.alice.keyFile,
      "-w", "\n%{http_code}", `${h.server.url}/jobs`,
    ]);
    assert.equal(stdout, '{"jobs":[]}\n200');
  } finally {
    await h.close();
  }
});
