/**
 * The benches' temp trees, removed once the whole bench is over rather than between its
 * contenders. On ext4 without a journal (this machine's disk), creating a file checks every
 * inode freed in the last 5 s (300 s while its inode table block is dirty) that comes before a
 * free one in the group's bitmap, and skips it (`recently_deleted`, called from
 * `find_inode_bit`; seen with `perf`). The 20 000 files one contender leaves, removed before the
 * next one starts, made the next one's creates 100–140 µs each instead of 11–18 µs
 * (docs/benchmarks.md, "Slow creates: freed inodes").
 */
import { rm } from 'node:fs/promises';

const trees: string[] = [];

/** `dir` goes at `removeAll`. */
export function removeLater(dir: string): void {
  trees.push(dir);
}

/**
 * Removes every tree given to `removeLater` so far; with BENCH_KEEP_TREES=1 only says where
 * they are (to look at them, or to profile run after run without removals in between).
 */
export async function removeAll(): Promise<void> {
  if (process.env['BENCH_KEEP_TREES'] === '1') {
    console.log(`kept: ${trees.splice(0).join(' ')}`);
    return;
  }
  await Promise.all(trees.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}
