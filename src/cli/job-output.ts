import type { Readable, Writable } from "node:stream";
import type { JobworkerClient, LogChunk, LogOptions, StreamName } from "../client/index.js";
import { LineStamper } from "../protocol/line-stamper.js";

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

/**
 * Copies a job's stdout to our stdout and its stderr to our stderr, both at once, byte
 * for byte. With `follow`, copies live until the job has ended. If either side fails,
 * the other request is aborted and the first error is raised.
 */
export async function copyJobOutput(
  client: JobworkerClient,
  id: string,
  options: {
    follow: boolean;
    stdout?: Writable;
    stderr?: Writable;
    /** Turns each stream's bytes into what is written (`run --on` prefixes its lines). */
    map?: (name: StreamName, src: Readable) => Readable;
  },
): Promise<void> {
  const targets: [StreamName, Writable][] = [
    ["stdout", options.stdout ?? process.stdout],
    ["stderr", options.stderr ?? process.stderr],
  ];
  const abort = new AbortController();
  // Each stream starts copying as soon as its own response arrives: a server may hold
  // a follow response's headers until the first byte exists, so waiting for both
  // before copying would hold back stdout until the job writes to stderr (or ends).
  const copies = targets.map(async ([name, dst]) => {
    const src = await client.stream(id, name, { follow: options.follow, signal: abort.signal });
    const onAbort = () => src.destroy();
    abort.signal.addEventListener("abort", onAbort, { once: true });
    try {
      await copyStream(options.map ? options.map(name, src) : src, dst);
    } finally {
      abort.signal.removeEventListener("abort", onAbort);
      src.destroy();
    }
  });
  try {
    await Promise.all(copies);
  } finally {
    abort.abort();
    // Wait for the other copy to wind down (its abort error is not interesting).
    await Promise.allSettled(copies);
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
  await copyRouted(src, [dst], (chunk: Buffer) => [dst, chunk]);
}

/**
 * Both streams of a job in the order the server captured them (GET /jobs/<id>/log), its
 * stdout to our stdout and its stderr to our stderr; with `timestamps`, each line
 * prefixed with its capture time. What `output --tail/--since/-t` prints.
 */
export async function copyJobLog(client: JobworkerClient, id: string, options: LogOptions & { timestamps: boolean }): Promise<void> {
  const stamps = { stdout: new LineStamper(), stderr: new LineStamper() };
  const targets = { stdout: process.stdout, stderr: process.stderr };
  const log = await client.log(id, { ...(options.follow && { follow: true }), ...(options.tail !== undefined && { tail: options.tail }), ...(options.since !== undefined && { since: options.since }) });
  await copyRouted(log, [process.stdout, process.stderr], ({ stream, time, data }: LogChunk) => [
    targets[stream],
    options.timestamps ? stamps[stream].stamp(Date.parse(time), data) : data,
  ]);
}

/** Writes each chunk of `src` where `route` says, with backpressure; an error of a target ends the copy as OutputClosedError. */
async function copyRouted<T>(src: Readable, dsts: readonly Writable[], route: (chunk: T) => [Writable, Buffer]): Promise<void> {
  let dstError: unknown;
  // A persistent listener: an EPIPE can surface after a write that returned true, and
  // an unhandled 'error' on process.stdout would crash the process.
  const onError = (err: unknown) => {
    dstError ??= err;
    src.destroy();
  };
  for (const dst of dsts) dst.on("error", onError);
  try {
    for await (const chunk of src) {
      if (dstError !== undefined) break;
      const [dst, bytes] = route(chunk as T);
      if (!dst.write(bytes)) await waitForDrain(dst);
      if (dstError !== undefined) break;
    }
  } catch (err) {
    if (dstError === undefined) throw err;
  } finally {
    for (const dst of dsts) dst.off("error", onError);
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
