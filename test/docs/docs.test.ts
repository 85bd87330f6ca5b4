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

/**
 * Fences that do not pair up: each opening fence (```lang) must be closed by a bare ```
 * before the next opens, and the page must not end inside one (everything after an open
 * fence renders as code). Indented fences (in list items) count too.
 */
function fenceProblems(markdown: string): string[] {
  const problems: string[] = [];
  let open: { line: number; info: string } | undefined;
  markdown.split("\n").forEach((text, i) => {
    const fence = /^\s*```(.*)$/.exec(text);
    if (!fence) return;
    const info = fence[1]!.trim();
    if (!open) open = { line: i + 1, info };
    else if (info !== "") problems.push(`line ${i + 1}: \`\`\`${info} opens a block while the one of line ${open.line} is still open`);
    else open = undefined;
  });
  if (open) problems.push(`line ${open.line}: the block opened here is never closed`);
  return problems;
}

/**
 * Shell variables the ```sh examples of a page use before any of them sets it (NAME=…,
 * export NAME=…, read NAME), in page order; single-quoted text is not expanded, and
 * variables every shell has are allowed.
 */
function undefinedVariables(markdown: string): string[] {
  const defined = new Set(["HOME", "PATH", "PWD", "USER"]);
  const missing: string[] = [];
  for (const line of shellLines(markdown)) {
    const code = line.replace(/'[^']*'/g, "''").replace(/(^|\s)#.*$/, "");
    for (const m of code.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
      if (!defined.has(m[1]!)) missing.push(`$${m[1]} in: ${line.trim()}`);
    }
    for (const m of code.matchAll(/(?:^|[\s;(])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/g)) defined.add(m[1]!);
    for (const m of code.matchAll(/\bread\s+(?:-\w+\s+)*([A-Za-z_][A-Za-z0-9_]*)/g)) defined.add(m[1]!);
  }
  return missing;
}

describe("every page's code blocks", () => {
  for (const page of ["README.md", "docs/api.md", "docs/cli.md", "docs/deploy.md", "docs/design.md", "docs/pki.md", "docs/security.md"]) {
    it(`${page}: every fence is closed`, () => {
      assert.deepEqual(fenceProblems(read(page)), []);
    });
  }
  it("the checks catch an open fence and an undefined variable", () => {
    assert.deepEqual(fenceProblems("```console\n$ a\n\n## Next\n```console\nb\n```\n"), ["line 5: ```console opens a block while the one of line 1 is still open"]);
    assert.deepEqual(fenceProblems("text\n```sh\nb\n"), ["line 2: the block opened here is never closed"]);
    assert.deepEqual(undefinedVariables("```sh\nX=1\necho $X '$Y' $Z # $W\n```\n"), ["$Z in: echo $X '$Y' $Z # $W"]);
  });
});

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
  it("every shell variable of the examples ($SERVER, $id, …) is set before it is used", () => {
    assert.deepEqual(undefinedVariables(api), []);
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
  it("says what node-gyp needs, Node's headers and npm_config_nodedir included", () => {
    assert.match(readme, /node-gyp[\s\S]{0,400}headers[\s\S]{0,200}`npm_config_nodedir/);
  });
  it("names the EBADENGINE warning of cookie@2", () => {
    assert.match(readme, /EBADENGINE[\s\S]{0,100}cookie@2/);
  });
});
