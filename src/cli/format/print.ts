// Writing results to stdout: the API's JSON for `--json`, aligned rows for people.

/** Prints a value as the API's JSON, one document per line. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** "label  value" rows with the labels padded to one width. */
export function formatRows(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join("");
}

/** Prints "label  value" rows with the labels aligned. */
export function printRows(rows: readonly (readonly [string, string])[]): void {
  process.stdout.write(formatRows(rows));
}
