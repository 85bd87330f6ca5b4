// serve's warning when its certificate does not name the address it listens on.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createCa, issueCert } from "../../src/pki/index.js";
import { certificateCoverageWarning } from "../../src/server/certificate-coverage.js";

describe("certificateCoverageWarning", () => {
  let loopbackOnly: string;
  let named: string;
  let withIp: string;
  before(async () => {
    const ca = await createCa();
    [loopbackOnly, named, withIp] = await Promise.all(
      [undefined, ["build.example.com"], ["10.0.0.5"]].map(async (hosts) => (await issueCert(ca, { kind: "server", ...(hosts && { hosts }) })).certPem),
    );
  });

  it("the development certificate (localhost, 127.0.0.1, ::1) covers loopback, not every address", () => {
    for (const host of ["127.0.0.1", "::1", "localhost"]) assert.equal(certificateCoverageWarning(loopbackOnly, host), undefined, host);
    for (const host of ["0.0.0.0", "::", "10.0.0.5"]) {
      const warning = certificateCoverageWarning(loopbackOnly, host);
      assert.ok(warning, host);
      assert.doesNotMatch(warning, /\n/);
      assert.match(warning, /^warning: the server certificate lists localhost, 127\.0\.0\.1, (::1|0:0:0:0:0:0:0:1), not the address serve listens on/);
      assert.match(warning, /`jobworker certs server --force --host NAME` and send serve SIGHUP$/);
      assert.doesNotMatch(warning, /certs init/);
    }
    assert.match(certificateCoverageWarning(loopbackOnly, "0.0.0.0")!, /0\.0\.0\.0 \(every address\)/);
  });

  it("a certificate with a host's name covers every address and that host's; not loopback it does not list", () => {
    assert.equal(certificateCoverageWarning(named, "0.0.0.0"), undefined);
    assert.equal(certificateCoverageWarning(named, "10.0.0.5"), undefined);
    assert.equal(certificateCoverageWarning(named, "build.example.com"), undefined);
    assert.ok(certificateCoverageWarning(named, "127.0.0.1"));
    assert.ok(certificateCoverageWarning(named, "other.example.com"));
    assert.equal(certificateCoverageWarning(withIp, "10.0.0.5"), undefined);
    assert.ok(certificateCoverageWarning(withIp, "10.0.0.6"));
  });
});
