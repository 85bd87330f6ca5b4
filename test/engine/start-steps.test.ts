// The start steps (src/engine/start/start-steps.ts) are the one list of what the native
// launcher may report as failed: every step named in native/*.c is in it and every step in
// it (but the engine's own) is named there, and each maps to a job error code of the API.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ENGINE_ONLY_STEPS, START_STEPS, stepMeaning, type StartStep } from "../../src/engine/start/start-steps.js";
import { explainStepFailure } from "../../src/engine/start/explain-step.js";
import { explainSpawnFailure } from "../../src/engine/explain-spawn-failure.js";
import { DEFAULT_JOB_PATH } from "../../src/engine/job-env.js";
import { JOB_ERROR_CODES } from "../../src/protocol/error-codes.js";
import { CHECKOUT } from "../helpers/checkout-for-user.js";

const NATIVE = join(CHECKOUT, "native");

/**
 * C source without its comments (which may name steps, or `die("<step>")`, in prose),
 * string and character literals kept as they are, so that a "//" inside one stays.
 */
function withoutComments(source: string): string {
  return source.replace(/"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (token) =>
    token.startsWith("/") ? token.replace(/[^\n]/g, " ") : token,
  );
}

/** Every step literal passed first to die() or report() in native/*.c, with where it is. */
function nativeSteps(): Map<string, string[]> {
  const steps = new Map<string, string[]>();
  const files = readdirSync(NATIVE).filter((name) => name.endsWith(".c"));
  assert.ok(files.length >= 3, `native sources found: ${files.join(", ")}`);
  for (const file of files) {
    const code = withoutComments(readFileSync(join(NATIVE, file), "utf8"));
    for (const match of code.matchAll(/\b(die|report)\(\s*"([^"]*)"/g)) {
      const step = match[2]!;
      assert.match(step, /^[a-z0-9-]+$/, `${file}: ${match[1]}("${step}") is not a step name`);
      const line = code.slice(0, match.index).split("\n").length;
      steps.set(step, [...(steps.get(step) ?? []), `${file}:${line}`]);
    }
  }
  return steps;
}

/** A job as explainStepFailure sees one, explained as the engine explains a real one. */
function explainer(cmd: string, cwd = "/") {
  return {
    cwd,
    spec: { cmd },
    explainFailure: (errCode?: string) => explainSpawnFailure(cmd, cwd, DEFAULT_JOB_PATH, errCode),
  };
}

/** The errno names a step may come with (parseEvent turns a number into one of these, or "UNKNOWN"). */
const ERRNO_NAMES = ["ENOENT", "EACCES", "EPERM", "ENOEXEC", "ENOSPC", "EAGAIN", "ENOMEM", "EMFILE", "ENFILE", "E2BIG", "EINVAL", "EIO", "EBUSY", "EPIPE", "ENOTCONN", "EPROTO", "ENOSYS", "errno 4095", "UNKNOWN"];

describe("start steps", () => {
  it("the step literals of native/*.c are exactly START_STEPS without the engine's own, both ways", () => {
    const native = nativeSteps();
    const listed = new Set(Object.keys(START_STEPS));
    const engineOnly = new Set<string>(ENGINE_ONLY_STEPS);
    for (const step of engineOnly) assert.ok(listed.has(step), `ENGINE_ONLY_STEPS names ${step}, which START_STEPS does not list`);
    const expected = new Set([...listed].filter((step) => !engineOnly.has(step)));

    const unlisted = [...native.keys()].filter((step) => !listed.has(step));
    assert.deepEqual(
      unlisted,
      [],
      `steps the C reports that start-steps.ts does not list (they would be explained as "an unknown start step"): ${unlisted.map((step) => `${step} (${native.get(step)!.join(", ")})`).join("; ")}`,
    );
    const engineInC = [...native.keys()].filter((step) => engineOnly.has(step));
    assert.deepEqual(engineInC, [], `steps listed as the engine's only, yet reported by the C: ${engineInC.join(", ")}`);
    const unreported = [...expected].filter((step) => !native.has(step));
    assert.deepEqual(unreported, [], `steps START_STEPS lists that no die()/report() of native/*.c names (stale entries): ${unreported.join(", ")}`);
    assert.deepEqual(new Set(native.keys()), expected);
  });

  it("every step maps through explainStepFailure to a job error code, isolation steps never to START_FAILED", () => {
    const codes = new Set<string>(JOB_ERROR_CODES);
    // A command that runs (so that exec-like steps reach the errno), one missing, one in a missing cwd.
    const jobs = [explainer("sh"), explainer("/no/such/jobworker-command"), explainer("true", "/no/such/jobworker-dir")];
    for (const step of Object.keys(START_STEPS) as StartStep[]) {
      const meaning = stepMeaning(step);
      assert.equal(meaning, START_STEPS[step], `stepMeaning(${step})`);
      for (const job of jobs) {
        for (const code of ERRNO_NAMES) {
          const failure = explainStepFailure({ step, code }, job);
          const what: string = `step ${step} (${meaning}) with ${code}, cmd ${job.spec.cmd} in ${job.cwd}`;
          assert.ok(codes.has(failure.code), `${what}: ${failure.code} is not in JOB_ERROR_CODES`);
          assert.equal(typeof failure.message, "string", what);
          assert.ok(failure.message.length > 0, `${what}: an empty message`);
          if (meaning === "isolation") {
            assert.notEqual(failure.code, "START_FAILED", `${what}: an isolation step is explained as START_FAILED`);
            assert.equal(failure.code, "ISOLATION_FAILED", what);
          }
        }
      }
    }
  });

  it("the meanings give the codes their names promise", () => {
    const sh = explainer("sh");
    const cases: [string, string, string][] = [
      ["exec", "ENOENT", "COMMAND_NOT_FOUND"],
      ["exec", "ENOEXEC", "NOT_EXECUTABLE"],
      ["exec", "EAGAIN", "RESOURCES_EXHAUSTED"],
      ["chdir", "ENOENT", "COMMAND_NOT_FOUND"],
      ["output", "ENOSPC", "STORAGE_FULL"],
      ["output", "EACCES", "START_FAILED"],
      ["stdin", "ENOSPC", "STORAGE_FULL"],
      ["cgroup", "EBUSY", "CGROUP_FAILED"],
      ["fork", "EAGAIN", "RESOURCES_EXHAUSTED"],
      ["pipe", "EMFILE", "RESOURCES_EXHAUSTED"],
      ["cwd-private", "ENOENT", "CWD_NOT_FOUND"],
      ["request", "EINVAL", "START_FAILED"],
      ["launcher", "EPIPE", "INTERRUPTED"],
      ["seccomp", "EINVAL", "ISOLATION_FAILED"],
      ["mount-ro", "EPERM", "ISOLATION_FAILED"],
    ];
    // "chdir ENOENT" for a command that exists: the cwd vanished, as execvp would say it.
    const missingCwd = explainer("sh", "/no/such/jobworker-dir");
    assert.equal(explainStepFailure({ step: "chdir", code: "ENOENT" }, missingCwd).code, "CWD_NOT_FOUND");
    for (const [step, code, expected] of cases) {
      const job = step === "exec" && code === "ENOENT" ? explainer("/no/such/jobworker-command") : step === "chdir" ? explainer("/no/such/jobworker-command") : sh;
      assert.equal(explainStepFailure({ step, code }, job).code, expected, `${step} ${code}`);
    }
    // A step of another build of the launcher is said to be unknown, never misnamed.
    assert.equal(stepMeaning("no-such-step"), undefined);
    const unknown = explainStepFailure({ step: "no-such-step", code: "EIO" }, sh);
    assert.equal(unknown.code, "START_FAILED");
    assert.match(unknown.message, /unknown start step failed \(no-such-step: EIO\)/);
    // Not fooled by the prototype: "constructor" is no step.
    assert.equal(stepMeaning("constructor"), undefined);
  });
});
