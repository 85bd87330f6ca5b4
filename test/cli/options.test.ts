// The option parsers every command shares: integers with their bounds, listen addresses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "commander";
import { integerParser, parseNonNegativeInt, parsePositiveInt } from "../../src/cli/options/numbers.js";
import { parseListen } from "../../src/cli/options/listen.js";
import { parseDuration } from "../../src/cli/options/duration.js";
import { parseRetention } from "../../src/cli/options/retention.js";

function refuses(parse: (v: string) => unknown, value: string, message: RegExp): void {
  assert.throws(() => parse(value), (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message));
}

describe("integer options", () => {
  it("accept plain decimal whole numbers within their bounds", () => {
    assert.equal(parsePositiveInt("1"), 1);
    assert.equal(parsePositiveInt(" 42 "), 42);
    assert.equal(parseNonNegativeInt("0"), 0);
    assert.equal(integerParser(1, 1000)("1000"), 1000);
  });
  it("refuse other spellings and out-of-bounds values, naming the bounds in words", () => {
    for (const bad of ["0", "-1", "1.5", "1e3", "0x10", "012", "", "abc", "1000000000"]) refuses(parsePositiveInt, bad, /^expected a whole number, at least 1$/);
    refuses(parseNonNegativeInt, "-1", /^expected a whole number, at least 0$/);
    refuses(integerParser(1, 1000), "1001", /^expected a whole number from 1 to 1000$/);
    refuses(integerParser(1, undefined, "days"), "0", /^expected a whole number of days, at least 1$/);
  });
});

describe("listen addresses", () => {
  it("take a bare PORT as loopback on that port", () => {
    assert.deepEqual(parseListen("18445"), { host: "127.0.0.1", port: 18445 });
    assert.deepEqual(parseListen("0"), { host: "127.0.0.1", port: 0 });
  });
  it("take HOST:PORT and [IPV6]:PORT", () => {
    assert.deepEqual(parseListen("127.0.0.1:8443"), { host: "127.0.0.1", port: 8443 });
    assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0 });
    assert.deepEqual(parseListen("localhost:80"), { host: "localhost", port: 80 });
  });
  it("refuse ports beyond 65535 and addresses without a port", () => {
    for (const bad of ["65536", "-1", "127.0.0.1:65536", "::1:80", "127.0.0.1", "host:", "[::1]", "a b:1"]) refuses(parseListen, bad, /expected PORT, HOST:PORT or \[IPV6\]:PORT/);
  });
});

describe("durations and retention", () => {
  it("a duration is a whole number and s, m, h or d", () => {
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("5m"), 300_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("7d"), 604_800_000);
    for (const bad of ["0s", "1.5h", "10", "1w", "-1m", "m", ""]) refuses(parseDuration, bad, /^expected a duration: .* 30s, 5m, 1h or 7d$/);
  });
  it("--retain takes an age, a count, or both", () => {
    assert.deepEqual(parseRetention("7d"), { maxAgeMs: 604_800_000 });
    assert.deepEqual(parseRetention("1000"), { maxCount: 1000 });
    assert.deepEqual(parseRetention("12h,50"), { maxAgeMs: 43_200_000, maxCount: 50 });
    for (const bad of ["7d,8d", "1w", "0"]) refuses(parseRetention, bad, /expected an age/);
  });
});
