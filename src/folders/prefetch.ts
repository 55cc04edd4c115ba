/**
 * A batch request sent ahead (SmallPull, small-pull.ts): the next group of small files is asked
 * of the first peer while the current group's frames are still being written, so that its first
 * frame is there when the current group ends (request → first frame was 5-71 ms per request of
 * ~500 files, with the writer idle: docs/benchmarks.md, "issue 16's mixed set").
 */
import type { ContentFrame, FrameAllocator } from './content-frames.js';
import { MAX_FRAMED_FILES } from './content-frames.js';
import type { ContentSource } from './content-source.js';
import type { Wanted } from './folder-write.js';

/** The most bytes of small files asked for in one request. */
const BATCH_BYTES = 16 * 1024 * 1024;

/** Small files split into requests: up to MAX_FRAMED_FILES files and about BATCH_BYTES each. */
export function requestGroups(small: readonly Wanted[]): Wanted[][] {
  const groups: Wanted[][] = [];
  for (let i = 0; i < small.length;) {
    let bytes = 0;
    let end = i;
    while (end < small.length && end - i < MAX_FRAMED_FILES && bytes < BATCH_BYTES) {
      bytes += small[end++]?.row.size ?? 0;
    }
    groups.push(small.slice(i, end));
    i = end;
  }
  return groups;
}

/** What a batch request asks for: each content and the size it must have. */
export function wantedOf(group: readonly Wanted[]): { hash: string; size: number }[] {
  return group.map((w) => ({ hash: w.hash, size: w.row.size }));
}

export interface Prefetched {
  readonly peer: ContentSource;
  /** The frames, the first already asked for; iterate at most once. */
  readonly frames: AsyncIterable<ContentFrame>;
  /** Closes the request if its frames were never taken (the response is not left half read). */
  cancel(): void;
}

/** Sends the request for `wanted` to `peer` now; its first frame is awaited by whoever reads. */
export function prefetch(
  peer: ContentSource,
  folder: string,
  wanted: readonly { hash: string; size: number }[],
  allocate?: FrameAllocator,
): Prefetched {
  const frames = peer.folderContents(folder, wanted, allocate)[Symbol.asyncIterator]();
  // A generator does nothing until asked for its first item: this sends the request.
  let first: Promise<IteratorResult<ContentFrame>> | null = frames.next();
  first.catch(() => {}); // a failure is thrown to the reader, or dropped with cancel
  let taken = false;
  return {
    peer,
    frames: {
      [Symbol.asyncIterator]: () => {
        taken = true;
        return {
          next: () => {
            const head = first;
            first = null;
            return head ?? frames.next();
          },
          return: async () => (await frames.return?.()) ?? { done: true, value: undefined },
        };
      },
    },
    cancel: () => {
      if (taken) return;
      taken = true;
      void frames.return?.().catch(() => {});
    },
  };
}
