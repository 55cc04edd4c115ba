/**
 * sharp (libvips), loaded at its first use rather than at start: a node that is not making
 * thumbnails (idle, or syncing folders only) does not map libvips or compile sharp's code
 * (measured ~23 MB RSS and 40 ms to load it, docs/benchmarks.md "Memory"). Every module that
 * decodes images gets sharp from `loadSharp()`; types come from `import type`.
 */
import type Sharp from 'sharp';

export type SharpLib = typeof Sharp;

let loading: Promise<SharpLib> | undefined;

/**
 * sharp, configured once for the process (see `configureSharp`). The first call loads it; a
 * failed load is not cached, so a later call tries again.
 */
export function loadSharp(): Promise<SharpLib> {
  loading ??= import('sharp').then(
    ({ default: sharp }) => {
      configureSharp(sharp);
      return sharp;
    },
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/** Whether sharp has been loaded in this process (for tests of what a node loads at start). */
export function sharpLoaded(): boolean {
  return loading !== undefined;
}

/**
 * Sets sharp's process-wide settings, deliberately:
 * - `cache(false)`: libvips keeps recent operations and their decoded input (by default up to
 *   50 MB, 20 files) for reuse; a node decodes each picture once and caches the thumbnail on
 *   disk, so hits are rare and the memory is only held;
 * - `concurrency(1)`: libvips' threads per image (default: one per core). Parallelism comes
 *   from the decode limiter instead (images.ts), across images, which keeps the total bounded:
 *   slots x 1 thread, and leaves the HTTP server and replication a core when slots are fewer.
 * Idempotent.
 */
function configureSharp(sharp: SharpLib): void {
  sharp.cache(false);
  sharp.concurrency(1);
}
