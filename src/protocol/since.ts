/**
 * `since`, as the API and the CLI take it: an RFC 3339 time (`2026-05-01T12:00:00Z`,
 * `…T12:00:00.250+02:00`) or a duration back from now (`10m`, `1h30m`, `90s`, `500ms`,
 * `2d`). Returns ms since the epoch, or undefined for anything else.
 */
export function parseSince(text: string, now = Date.now()): number | undefined {
  if (RFC3339.test(text)) {
    const time = Date.parse(text.replace(" ", "T"));
    return Number.isFinite(time) ? time : undefined;
  }
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return Number.isFinite(ms) ? now - ms : undefined;
}

/** What `since` must be, for error messages. */
export const SINCE_DESCRIPTION = "an RFC 3339 time (2026-05-01T12:00:00Z) or a duration such as 10m, 1h30m, 90s";

const RFC3339 = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const DURATION = /^(\d{1,9}(\.\d{1,9})?(ms|s|m|h|d))+$/;
const DURATION_PART = /(\d{1,9}(?:\.\d{1,9})?)(ms|s|m|h|d)/g;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
