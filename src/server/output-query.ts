import { Readable } from "node:stream";
import type { LogOptions, OutputChunk, StreamOptions } from "../engine/index.js";
import type { LogQuery, OutputStreamQuery } from "../protocol/job-request.js";
import type { LogChunk } from "../protocol/job-record.js";
import { parseSince, SINCE_DESCRIPTION } from "../protocol/since.js";
import { HttpError } from "./http-error.js";

/**
 * The query of `GET /jobs/<id>/log` as the engine's options. The schema has checked each
 * field's shape; what it cannot say (a time that does not exist) is refused here, naming
 * the field.
 */
export function logOptionsOf(query: LogQuery): LogOptions {
  const since = query.since === undefined ? undefined : parseSince(query.since);
  if (query.since !== undefined && since === undefined) throw new HttpError("INVALID_REQUEST", `since must be ${SINCE_DESCRIPTION}`);
  return {
    follow: isTrue(query.follow),
    ...(query.tail !== undefined && { tail: Number(query.tail) }),
    ...(since !== undefined && { since }),
  };
}

/**
 * The query of `GET /jobs/<id>/stdout|stderr`. `offset` names a start, as `tail` and
 * `since` do: it goes with `follow` and `timestamps`, not with them.
 */
export function streamOptionsOf(query: OutputStreamQuery): StreamOptions {
  const options: StreamOptions = { ...logOptionsOf(query), timestamps: isTrue(query.timestamps) };
  if (query.offset === undefined) return options;
  if (query.tail !== undefined || query.since !== undefined) {
    throw new HttpError("INVALID_REQUEST", `offset cannot be combined with ${query.tail !== undefined ? "tail" : "since"}: each says where to start`);
  }
  const offset = Number(query.offset);
  if (!Number.isSafeInteger(offset)) throw new HttpError("INVALID_REQUEST", "offset must be a non-negative integer");
  return { ...options, offset };
}

/** The log's chunks as NDJSON: `{"stream","time","data"}` per line, data in base64. */
export function ndjsonLog(chunks: Readable): Readable {
  async function* lines(): AsyncGenerator<string> {
    for await (const chunk of chunks as AsyncIterable<OutputChunk>) {
      const line: LogChunk = { stream: chunk.stream, time: new Date(chunk.time).toISOString(), data: chunk.data.toString("base64") };
      yield `${JSON.stringify(line)}\n`;
    }
  }
  return Readable.from(lines(), { objectMode: false });
}

function isTrue(flag: string | undefined): boolean {
  return flag === "true" || flag === "1";
}
