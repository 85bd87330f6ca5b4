import { InvalidArgumentError } from "../errors.js";
import { labelRuleBroken } from "../job-labels.js";
import { publicRecord } from "../job-records.js";
import type { JobPage, JobStore } from "../job-store.js";
import { JOB_STATES, type JobRecord, type PageOptions } from "../types.js";
import type { LiveJobs } from "./live-jobs.js";
import type { Job } from "../job.js";

const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/**
 * One page of records, newest first, after `cursor`: live jobs as they are now (`liveRecord`),
 * jobs being deleted left out. Pages never repeat or skip a job, even while jobs are created.
 */
export function listPage(store: JobStore, live: LiveJobs, options: PageOptions, liveRecord: (job: Job) => JobRecord): JobPage {
  const limit = options.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  if (options.cursor !== undefined && !/^[1-9][0-9]{0,15}$/.test(options.cursor)) {
    throw new InvalidArgumentError("cursor is not valid");
  }
  if (options.state !== undefined && !JOB_STATES.includes(options.state)) throw new InvalidArgumentError(`status must be one of ${JOB_STATES.join(", ")}`);
  for (const [key, value] of Object.entries(options.labels ?? {})) {
    const broken = labelRuleBroken(key, value, "label");
    if (broken) throw new InvalidArgumentError(broken);
  }
  const page = store.page({ owner: options.owner, state: options.state, labels: options.labels, limit, cursor: options.cursor });
  const jobs: JobRecord[] = page.jobs
    .filter((record) => !live.isDeleting(record.id))
    .map((record) => {
      const job = live.get(record.id);
      return publicRecord(job ? liveRecord(job) : record);
    });
  return { jobs, ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
}

/** Every page of `listPage` after another. */
export function listAll(page: (options: PageOptions) => JobPage, options: PageOptions): JobRecord[] {
  const all: JobRecord[] = [];
  let cursor: string | undefined;
  do {
    const next = page({ ...options, limit: MAX_PAGE_SIZE, cursor });
    all.push(...next.jobs);
    cursor = next.nextCursor;
  } while (cursor !== undefined);
  return all;
}
