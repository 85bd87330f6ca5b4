import { readFileSync } from "node:fs";

/**
 * The fields of a /proc/<pid>/stat text from field 3 (state) on, so that field n of
 * proc(5) is at index n - 3. They are split after the command name's last ")": the name
 * (field 2) may itself hold spaces and parentheses.
 */
export function statFieldsOf(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** Field `n` (1-based, as proc(5) numbers them, from 3) of a process's stat; undefined once it is gone. */
export function statField(pid: number, n: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  return statFieldsOf(stat)[n - 3];
}
