/**
 * Calls `work` for every item with at most `limit` calls in flight, starting the next
 * item as soon as one finishes, and resolves to the results in the items' order. `work`
 * must not reject (each caller turns its failures into results): one host's failure must
 * not stop the others. `skip` is asked before each start; when it says so, the item's
 * result is `skipped(item)` instead (`run --on` after Ctrl-C starts nothing new).
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
  skip?: { when: () => boolean; result: (item: T) => R },
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  // `limit` workers, each taking the next item when done with its last: no timers, no
  // queue beyond the index.
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i]!;
      results[i] = skip?.when() ? skip.result(item) : await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
