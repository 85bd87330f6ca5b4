import { EngineError } from "../engine/index.js";
import { HttpError } from "./http-error.js";
import { describeValidation, type ValidationIssue } from "./validation-message.js";

/**
 * Maps anything a request can throw to an {@link HttpError} of the central table.
 * Unknown errors become a bare 500 (the caller logs the original, the client never
 * sees it).
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof EngineError) {
    switch (err.code) {
      case "JOB_NOT_FOUND":
        return new HttpError("JOB_NOT_FOUND");
      case "INVALID_JOB_SPEC":
        return new HttpError("INVALID_JOB_SPEC", err.message);
      case "INVALID_ARGUMENT":
        return new HttpError("INVALID_ARGUMENT", err.message);
      case "POOL_CLOSED":
        return new HttpError("SHUTTING_DOWN");
      case "STORAGE_FULL":
        return new HttpError("STORAGE_FULL");
      case "LIMIT_ABOVE_MAXIMUM":
        return new HttpError("LIMIT_ABOVE_MAXIMUM", err.message);
      case "STDIN_NOT_AVAILABLE":
        return new HttpError("STDIN_NOT_AVAILABLE", err.message);
      case "TIMEOUT_ABOVE_MAXIMUM":
        return new HttpError("TIMEOUT_ABOVE_MAXIMUM", err.message);
      case "LIMIT_NOT_ENFORCEABLE":
        return new HttpError("LIMIT_NOT_ENFORCEABLE", err.message);
      case "ISOLATION_NOT_AVAILABLE":
        return new HttpError("ISOLATION_NOT_AVAILABLE", err.message);
      case "DATA_DIR_LOCKED":
        return new HttpError("INTERNAL");
    }
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
