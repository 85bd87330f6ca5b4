import type { Readable, Writable } from "node:stream";
import type { JobworkerClient, StreamName } from "../client/index.js";

/**
 * Raised when our own stdout or stderr went away (EPIPE: `jobworker run … | head`).
 * Commands then end quietly, like a process killed by SIGPIPE.
 */
export class OutputClosedError extends Error {
  readonly code = "OUTPUT_CLOSED";
  constructor(cause: unknown) {
    super("output closed", { cause });
    this.name = "OutputClosedError";
  }
}

/** 128 + SIGPIPE: what a shell reports for a writer whose reader went away. */
export const EXIT_SIGPIPE = 141;

/**
 * Copies a job's stdout to our stdout and its stderr to our stderr, both at once, byte
 * for byte. With `follow`, copies live until the job has ended. Both requests are
 * opened before the first byte is written, so an unknown id fails cleanly.
 */
export async function copyJobOutput(
  client: JobworkerClient,
  id: string,
  options: { follow: boolean; stdout?: Writable; stderr?: Writable },
): Promise<void> {
  const targets: [StreamName, Writable][] = [
    ["stdout", options.stdout ?? process.stdout],
    ["stderr", options.stderr ?? process.stderr],
  ];
  const opened = await Promise.allSettled(targets.map(([name]) => client.stream(id, name, { follow: options.follow })));
  const sources = opened.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  try {
    const failed = opened.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    await Promise.all(sources.map((src, i) => copyStream(src, targets[i]![1])));
  } finally {
    for (const src of sources) src.destroy();
  }
}

/**
 * Reads `src` to its end, discarding the bytes: with a follow stream, this is "wait
 * until the job has ended" without polling.
 */
export async function drain(src: Readable): Promise<void> {
  for await (const _ of src);
}

/**
 * Copies `src` into `dst` without ending `dst` (it is our stdout), waiting for 'drain'
 * whenever `dst` is full so a slow reader slows the download instead of filling
 * memory. `pipeline` is not used because on failure it destroys the destination,
 * and process.stderr must survive to print the error.
 */
export async function copyStream(src: Readable, dst: Writable): Promise<void> {
  let dstError: unknown;
  // A persistent listener: an EPIPE can surface after a write that returned true, and
  // an unhandled 'error' on process.stdout would crash the process.
  const onError = (err: unknown) => {
    dstError ??= err;
    src.destroy();
  };
  dst.on("error", onError);
  try {
    for await (const chunk of src) {
      if (dstError !== undefined) break;
      if (!dst.write(chunk)) await waitForDrain(dst);
      if (dstError !== undefined) break;
    }
  } catch (err) {
    if (dstError === undefined) throw err;
  } finally {
    dst.off("error", onError);
  }
  if (dstError !== undefined) throw new OutputClosedError(dstError);
}

function waitForDrain(dst: Writable): Promise<void> {
  return new Promise((resolve) => {
    // 'error' and 'close' resolve too: the caller checks the recorded error.
    const done = () => {
      dst.off("drain", done);
      dst.off("error", done);
      dst.off("close", done);
      resolve();
    };
    dst.on("drain", done);
    dst.on("error", done);
    dst.on("close", done);
  });
}
