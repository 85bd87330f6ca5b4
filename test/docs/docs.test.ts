// The documentation says what the code does: the points a newcomer tripped on.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), "utf8");

/** The lines of the ```sh blocks of a Markdown page. */
function shellLines(markdown: string): string[] {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n"));
}

describe("docs/api.md", () => {
  const api = read("docs/api.md");
  it("every curl example uses $CURL (the one line that defines it aside)", () => {
    const bare = shellLines(api).filter((line) => /(^|\s)curl\s/.test(line) && !/^CURL=/.test(line));
    assert.deepEqual(bare, []);
    assert.ok(shellLines(api).filter((line) => line.startsWith("$CURL ")).length >= 5);
  });
  it("does not claim a TLS alert for refused client certificates: they see a close", () => {
    assert.doesNotMatch(api, /with a TLS alert/);
    assert.match(api, /without a TLS\s+alert/);
  });
  it("names the output files as the engine writes them", () => {
    assert.match(api, /`<data-dir>\/jobs\/<id>\.stdout` and `<data-dir>\/jobs\/<id>\.stderr`/);
    assert.doesNotMatch(api, /jobs\/<id>\/`/);
  });
  it("cites the repository's own docs, not the contract outside it", () => {
    assert.doesNotMatch(api, /DESIGN\.md/);
  });
});

describe("README.md", () => {
  const readme = read("README.md");
  it("says how flags reach serve through npm start", () => {
    assert.match(readme, /`npm start -- --listen /);
  });
  it("says a C/C++ toolchain builds better-sqlite3 where no prebuilt binary is fetched", () => {
    assert.match(readme, /better-sqlite3[\s\S]{0,300}C\/C\+\+ toolchain/);
  });
  it("names the EBADENGINE warning of cookie@2", () => {
    assert.match(readme, /EBADENGINE[\s\S]{0,100}cookie@2/);
  });
});
