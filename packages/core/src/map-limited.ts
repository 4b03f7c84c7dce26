/**
 * Runs `work` over `items` with at most `limit` in flight, keeping the order of results. After a
 * failure no new item starts, and the returned promise rejects only once those in flight settled,
 * so the caller can clean up knowing nothing is still running.
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  const settled = await Promise.allSettled(workers);
  const rejection = settled.find(
    (outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected',
  );
  if (rejection) throw rejection.reason;
  return results;
}
