/**
 * Bounds a Map or Set used as a memory of recent answers: its oldest entries (first inserted;
 * delete and add again to refresh one) are dropped until at most `kept` remain.
 */
export function forgetOldest<K>(
  memory: { readonly size: number; keys(): Iterable<K>; delete(key: K): boolean },
  kept: number,
): void {
  for (const key of memory.keys()) {
    if (memory.size <= kept) return;
    memory.delete(key);
  }
}
