/**
 * Ajv's complaints as one sentence about the request's own field names, as the API
 * spells them: `limits.pids must be an integer from 2 to 4194304`, `args[1] must be a
 * string`, `unknown field "foo"`, `missing field "cmd"`. Never a regular expression nor
 * an engine name: a leaf schema that has a `description` (src/protocol/job-request.ts)
 * completes "must be …" with it. Fastify's Ajv runs with `verbose: true` so that each
 * complaint carries its schema.
 */

/** One Ajv error, as fastify attaches them to `err.validation`. */
export interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: { description?: unknown; minimum?: unknown; maximum?: unknown; type?: unknown };
}

/** The sentence for Ajv's first complaint about the request's `context` (body, querystring, params). */
export function describeValidation(issues: readonly ValidationIssue[], context: string): string {
  const issue = issues[0];
  if (!issue) return `the request ${context} is not valid`;
  const where = fieldPath(issue.instancePath);
  const subject = where || (context === "body" ? "the request body" : context);
  const inside = where ? ` in ${where}` : context === "body" ? "" : ` in the ${context}`;
  const description = typeof issue.parentSchema?.description === "string" ? issue.parentSchema.description : undefined;
  switch (issue.keyword) {
    case "additionalProperties":
      return `unknown field ${JSON.stringify(String(issue.params.additionalProperty))}${inside}`;
    case "required":
      return `missing field ${JSON.stringify(String(issue.params.missingProperty))}${inside}`;
    case "type":
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
    case "multipleOf":
    case "minLength":
    case "pattern":
    case "format":
      if (description) return `${subject} must be ${description}`;
      return `${subject} ${plainComplaint(issue)}`;
    case "enum":
    case "anyOf":
    case "const":
      return `${subject} must be ${description ?? oneOf(issue)}`;
    case "propertyNames":
      return `${subject} has a name that is not valid`;
    default:
      return `${subject} is not valid`;
  }
}

function plainComplaint(issue: ValidationIssue): string {
  const p = issue.params;
  switch (issue.keyword) {
    case "type": {
      const type = String(p.type);
      return `must be ${type === "array" || type === "object" || type === "integer" ? "an" : "a"} ${type}`;
    }
    case "minimum":
      return `must be at least ${String(p.limit)}`;
    case "maximum":
      return `must be at most ${String(p.limit)}`;
    case "exclusiveMinimum":
      return `must be more than ${String(p.limit)}`;
    case "exclusiveMaximum":
      return `must be less than ${String(p.limit)}`;
    case "minLength":
      return p.limit === 1 ? "must not be empty" : `must be at least ${String(p.limit)} characters long`;
    default:
      // pattern and format name a regular expression or a format: not for people.
      return "is not valid";
  }
}

/** `one of "true", "false"` for an enum or a union of literals. */
function oneOf(issue: ValidationIssue): string {
  const values = Array.isArray(issue.params.allowedValues) ? issue.params.allowedValues : undefined;
  return values ? `one of ${values.map((v) => JSON.stringify(v)).join(", ")}` : "one of the allowed values";
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
