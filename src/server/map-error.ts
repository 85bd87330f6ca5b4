import { EngineError } from "../engine/index.js";
import { HttpError } from "./http-error.js";

/** One Ajv error, as fastify attaches them to `err.validation`. */
interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

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
      case "JOB_LIMIT_REACHED":
        return new HttpError("TOO_MANY_RUNNING_JOBS", err.message);
      case "STORAGE_FULL":
        return new HttpError("STORAGE_FULL");
      case "LIMIT_ABOVE_MAXIMUM":
        return new HttpError("LIMIT_ABOVE_MAXIMUM", err.message);
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

/**
 * Turns Ajv's first complaint into a sentence about the request's own field names,
 * e.g. `args[1] must be a string`, `unknown field "foo"`, `missing field "cmd"`.
 */
export function describeValidation(issues: readonly ValidationIssue[], context: string): string {
  const issue = issues[0];
  if (!issue) return `the request ${context} is not valid`;
  const where = fieldPath(issue.instancePath);
  const subject = where || (context === "body" ? "the request body" : context);
  const inside = where ? ` in ${where}` : context === "body" ? "" : ` in the ${context}`;
  switch (issue.keyword) {
    case "additionalProperties":
      return `unknown field ${JSON.stringify(String(issue.params.additionalProperty))}${inside}`;
    case "required":
      return `missing field ${JSON.stringify(String(issue.params.missingProperty))}${inside}`;
    case "type": {
      const type = String(issue.params.type);
      const article = type === "array" || type === "object" || type === "integer" ? "an" : "a";
      return `${subject} must be ${article} ${type}`;
    }
    case "propertyNames":
      return `${subject} has a name that is not valid`;
    default:
      return `${subject} ${issue.message ?? "is not valid"}`;
  }
}

/** "/args/1" → "args[1]", "/env/HOME" → "env.HOME". */
function fieldPath(instancePath: string): string {
  if (!instancePath) return "";
  return instancePath
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}
