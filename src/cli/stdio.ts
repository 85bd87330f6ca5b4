// What the CLI does when the reader of its stdout or stderr goes away: `jobworker list |
// head -1`, `jobworker run --help | head -1`. Node ignores SIGPIPE, so a write to a closed
// pipe fails with EPIPE, and an 'error' event nobody listens to crashes the process with a
// stack trace. Here it ends the way a shell pipeline expects instead: quietly, with the
// exit status of a writer killed by SIGPIPE.

/** 128 + SIGPIPE: what a shell reports for a writer whose reader went away. */
export const EXIT_SIGPIPE = 141;

/**
 * Listens for errors on process.stdout and process.stderr for the whole run. An EPIPE
 * sets the exit code to 141 and nothing else: the command finishes its own clean-up
 * (`run` stops its job when its output has nowhere to go), and later writes are dropped.
 * Other write errors on stdout are reported on stderr once, exit 1.
 */
export function guardStdio(): void {
  let reported = false;
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") {
      process.exitCode = EXIT_SIGPIPE;
      return;
    }
    if (reported) return;
    reported = true;
    process.exitCode = 1;
    process.stderr.write(`jobworker: cannot write to stdout: ${err.message}\n`);
  });
  // Nowhere left to say anything: stay quiet, keep the exit code the command chose.
  process.stderr.on("error", () => {});
}
