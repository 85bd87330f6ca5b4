// `jobworker list --on web1,web2`: the jobs of several hosts in one table with a HOST
// column; a host that fails is reported on stderr and does not hide the others.
import type { JobPage, PageOptions } from "../../client/index.js";
import { formatHostJobTable, formatCommand } from "../format/job.js";
import { printJson } from "../format/print.js";
import { openClientWith } from "../options/client.js";
import { mapBounded } from "./bounded.js";
import type { Target } from "./targets.js";

/** One host's page of jobs, or why there is none. */
interface HostPage {
  name: string;
  url: string;
  page?: JobPage;
  error?: unknown;
}

/**
 * Lists the jobs on every target, `parallel` hosts at a time: one page each (`limit`), or
 * every job with `all`. Resolves to the exit code: 0 when every host answered, else 1.
 */
export async function listOnContexts(targets: readonly Target[], options: { parallel: number; all?: boolean; json?: boolean; page: PageOptions }): Promise<number> {
  const pages = await mapBounded(targets, options.parallel, async (target): Promise<HostPage> => {
    const result: HostPage = { name: target.name, url: target.settings.url };
    try {
      const client = await openClientWith(target.settings);
      try {
        result.page = options.all ? { jobs: await client.list() } : await client.listPage(options.page);
      } finally {
        await client.destroy().catch(() => {});
      }
    } catch (err) {
      result.error = err;
    }
    return result;
  });

  if (options.json) {
    printJson({
      hosts: pages.map(({ name, url, page, error }) => {
        if (page) return { context: name, server: url, ...page };
        const err = error as { message?: string; code?: string };
        return { context: name, server: url, error: err.message ?? String(error), ...(typeof err.code === "string" && { code: err.code }) };
      }),
    });
  } else {
    process.stdout.write(formatHostJobTable(pages.flatMap(({ name, page }) => (page?.jobs ?? []).map((job) => ({ host: name, job })))));
    for (const { name, page, error } of pages) {
      if (error !== undefined) {
        const err = error as { message?: string; hint?: string };
        process.stderr.write(`jobworker: ${name}: ${err.message ?? String(error)}${err.hint ? ` (${err.hint})` : ""}\n`);
      } else if (page?.next_cursor !== undefined) {
        const next = formatCommand("jobworker", ["list", "--context", name, ...(options.page.limit !== undefined ? ["--limit", String(options.page.limit)] : []), "--cursor", page.next_cursor]);
        process.stderr.write(`more jobs on ${name}: ${next} (or --all)\n`);
      }
    }
  }
  return pages.every((p) => p.error === undefined) ? 0 : 1;
}
