import { EngineError, type EngineErrorCode } from "../engine/index.js";
import { isErrorCode } from "../protocol/error-codes.js";
import { HttpError } from "./http-error.js";
import { describeValidation, type ValidationIssue } from "./validation-message.js";

/** Engine errors whose answer is not their own code and message. */
const ENGINE_ANSWERS: Partial<Record<EngineErrorCode, () => HttpError>> = {
  // The table's fixed sentence: the message would echo the id.
  JOB_NOT_FOUND: () => new HttpError("JOB_NOT_FOUND"),
  POOL_CLOSED: () => new HttpError("SHUTTING_DOWN"),
  STORAGE_FULL: () => new HttpError("STORAGE_FULL"),
  // Only at open, never during a request: if it ever were, it is ours, not the client's.
  DATA_DIR_LOCKED: () => new HttpError("INTERNAL"),
};

/**
 * Maps anything a request can throw to an {@link HttpError} of the central table.
 * Unknown errors become a bare 500 (the caller logs the original, the client never
 * sees it).
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof EngineError) {
    const special = ENGINE_ANSWERS[err.code];
    if (special) return special();
    // Every other engine code is a wire code of the same name, and its message is for the client.
    if (isErrorCode(err.code)) return new HttpError(err.code, err.message);
  }
  const e = err as { code?: unknown; statusCode?: unknown; validation?: unknown; validationContext?: unknown };
  if (Array.isArray(e?.validation)) {
    return new HttpError("INVALID_REQUEST", describeValidation(e.validation as ValidationIssue[], String(e.validationContext ?? "body")));
  }
  switch (e?.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new HttpError("BODY_TOO_LARGE");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new HttpError("UNSUPPORTED_MEDIA_TYPE");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new HttpError("EMPTY_BODY");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new HttpError("INVALID_JSON");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new HttpError("BAD_CONTENT_LENGTH");
    case "FST_ERR_BAD_URL":
    case "FST_ERR_MAX_PARAM_LENGTH":
      return new HttpError("BAD_URL");
  }
  // Some other client error fastify recognised (it set a 4xx): say only that it was refused.
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return new HttpError("INVALID_REQUEST");
  }
  return new HttpError("INTERNAL");
}
