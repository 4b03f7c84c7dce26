import type { Page, PageRequest } from './contract/index.js';

/**
 * A listing read page by page: `for await (const item of listing)` streams it with memory bounded
 * by one page; `await listing` collects every item into an array (what listings returned before).
 *
 * @example
 * for await (const version of client.versions('mnist/mlp')) console.log(version.ref);
 * const all = await client.versions('mnist/mlp'); // an array
 */
export class Paged<T> implements AsyncIterable<T>, PromiseLike<T[]> {
  /** @internal */
  constructor(
    private readonly fetchPage: (request: PageRequest) => Promise<Page<T>>,
    private readonly pageSize?: number,
  ) {}

  /** Every page in order, each with the cursor of the next. */
  async *pages(): AsyncGenerator<Page<T>> {
    let cursor: string | null = null;
    do {
      const page: Page<T> = await this.fetchPage({
        ...(cursor !== null ? { cursor } : {}),
        ...(this.pageSize !== undefined ? { limit: this.pageSize } : {}),
      });
      yield page;
      cursor = page.next;
    } while (cursor !== null);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const page of this.pages()) yield* page.items;
  }

  /** Every item, collected. */
  async toArray(): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.pages()) items.push(...page.items);
    return items;
  }

  // biome-ignore lint/suspicious/noThenProperty: deliberately awaitable, so `await client.versions(…)` still gives the array it gave before listings were paged.
  then<A = T[], B = never>(
    onFulfilled?: ((value: T[]) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.toArray().then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T[] | B> {
    return this.toArray().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T[]> {
    return this.toArray().finally(onFinally);
  }
}
