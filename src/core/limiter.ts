/** Runs at most `limit` async tasks at once; the rest wait in arrival order. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * Calls `work` on each item, at most `limit` at once, starting them in the items' order. When a
 * call fails, no further item is started; the calls under way are awaited, then the first
 * failure is thrown: nothing keeps running behind the caller's back.
 */
export async function eachAtOnce<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const failed: { error: unknown }[] = [];
  const worker = async (): Promise<void> => {
    while (failed.length === 0 && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failed.push({ error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  const [first] = failed;
  if (first !== undefined) throw first.error;
}

/**
 * `eachAtOnce` for items that arrive one by one (a peer's response being read): `work` is called
 * on each as it comes, at most `limit` at once. The first failure, of a call or of `items`
 * itself, stops taking items; a call that throws before it returns a promise stops them at
 * once. The calls under way are awaited, then that failure is thrown.
 */
export async function eachAsItComes<T>(
  items: AsyncIterable<T>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  const failed: { error: unknown }[] = [];
  try {
    for await (const item of items) {
      let one: Promise<void>;
      try {
        one = work(item);
      } catch (error) {
        failed.push({ error });
        break;
      }
      running.add(one);
      one.then(
        () => running.delete(one),
        (error: unknown) => {
          running.delete(one);
          failed.push({ error });
        },
      );
      if (running.size >= limit) await Promise.race(running).catch(() => undefined);
      if (failed.length > 0) break;
    }
  } catch (error) {
    failed.push({ error });
  }
  await Promise.allSettled(running);
  const [first] = failed;
  if (first !== undefined) throw first.error;
}
