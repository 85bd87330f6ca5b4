import { InvalidJobSpecError } from "./errors.js";

/** A job's labels: Kubernetes' rules, kept simple (docs/api.md, "Labels"). */
export const LABEL_RULES = {
  maxLabels: 32,
  maxKeyLength: 63,
  maxValueLength: 256,
  /** Lower-case letters, digits, `.`, `_`, `/` and `-`, starting with a letter or digit. */
  key: /^[a-z0-9][a-z0-9._/-]*$/,
} as const;

/** `labels` checked against {@link LABEL_RULES}, copied; `InvalidJobSpecError` naming the rule otherwise. */
export function validateLabels(labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) throw new InvalidJobSpecError("labels must be an object of strings");
  const entries = Object.entries(labels);
  if (entries.length > LABEL_RULES.maxLabels) throw new InvalidJobSpecError(`labels: at most ${LABEL_RULES.maxLabels} (got ${entries.length})`);
  for (const [key, value] of entries) {
    const broken = labelRuleBroken(key, value, "labels");
    if (broken) throw new InvalidJobSpecError(broken);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** The rule one label (`key`, `value`) breaks, said for the field `where`; undefined when it keeps them all. */
export function labelRuleBroken(key: string, value: unknown, where: string): string | undefined {
  if (key.length > LABEL_RULES.maxKeyLength || !LABEL_RULES.key.test(key)) {
    return `${where}: key ${JSON.stringify(key)} must be 1 to ${LABEL_RULES.maxKeyLength} characters of a-z, 0-9, ".", "_", "/" and "-", starting with a letter or digit`;
  }
  if (typeof value !== "string") return `${where}.${key} must be a string`;
  if (value.length > LABEL_RULES.maxValueLength) return `${where}.${key}: a value is at most ${LABEL_RULES.maxValueLength} characters (got ${value.length})`;
  if (value.includes("\0")) return `${where}.${key} must not contain a NUL byte`;
  return undefined;
}
