// A node:test reporter that names the signal a test file's process died of. The spec
// reporter says only "test failed" for a file that crashed (a SIGSEGV, a SIGKILL from the
// OOM killer), which reads like a failing test rather than a dead process.
export default async function* signals(source) {
  for await (const event of source) {
    if (event.type !== "test:fail") continue;
    const signal = event.data.details?.error?.signal;
    if (signal) yield `run-tests: the process of ${event.data.file ?? event.data.name} died of ${signal}\n`;
  }
}
