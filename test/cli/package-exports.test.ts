// `import { JobworkerClient } from "jobworker/client"`, as another program does it: a temp
// project whose node_modules/jobworker is this package (what `npm install ../jobworker`
// or `npm link jobworker` gives), a plain-node script that talks to a real server through
// that import, and a TypeScript file type-checked against the package's declarations.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createWorld, type TestWorld } from "../e2e/fixtures.js";

const run = promisify(execFile);
const root = resolve(fileURLToPath(new URL("../../", import.meta.url)));

describe('package export "jobworker/client"', () => {
  let world: TestWorld;
  let project: string;

  before(async () => {
    world = await createWorld();
    project = await mkdtemp(join(tmpdir(), "jobworker-consumer-"));
    await mkdir(join(project, "node_modules"));
    await symlink(root, join(project, "node_modules", "jobworker"), "dir");
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }));
  });
  after(async () => {
    await world?.close();
    if (project) await rm(project, { recursive: true, force: true });
  });

  it("plain node imports JobworkerClient by the package's name and runs a job with it", async () => {
    await writeFile(
      join(project, "main.mjs"),
      `import { JobworkerClient, loadCredentials } from "jobworker/client";
const [url, caFile, certFile, keyFile] = process.argv.slice(2);
const client = new JobworkerClient({ url, ...(await loadCredentials({ caFile, certFile, keyFile })) });
const id = await client.create({ cmd: "echo", args: ["from a consumer"] });
for await (const _ of await client.stream(id, "stdout", { follow: true }));
const { stdout } = await client.output(id);
console.log(JSON.stringify({ status: (await client.status(id)).status, stdout }));
await client.close();
`,
    );
    const { pki } = world;
    const { stdout } = await run(process.execPath, ["main.mjs", world.server.url, pki.caCert, pki.clientCert("alice"), pki.clientKey("alice")], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), { status: "completed", stdout: "from a consumer\n" });
  });

  it("TypeScript finds the client's types through the export", async () => {
    await writeFile(
      join(project, "check.ts"),
      `import { JobworkerClient, type JobRecord } from "jobworker/client";
export async function firstCommand(client: JobworkerClient): Promise<string | undefined> {
  const jobs: JobRecord[] = await client.list();
  return jobs[0]?.cmd;
}
// @ts-expect-error: the export carries real types, not any
export const wrong: number = JobworkerClient;
`,
    );
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const args = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--typeRoots", join(root, "node_modules", "@types"), "check.ts"];
    const r = await run(process.execPath, [tsc, ...args], { cwd: project }).catch((err: { stdout?: string; stderr?: string }) => assert.fail(`tsc failed: ${err.stdout}${err.stderr}`));
    assert.equal(r.stdout, "");
  });
});
