/**
 * The binding of `native/beneath` (package `mosaic-beneath`, built by node-gyp at `npm ci`), loaded
 * once: openat2-based moves and opens below a folder's root (beneath.ts), and batches of a pull's
 * small files written and moved on libuv's pool (beneath-batch.ts). Null where it cannot be used:
 * not Linux, not built, MOSAIC_BENEATH=off, or openat2 refused at run time (`unavailable`).
 */
import { createRequire } from 'node:module';

export interface Binding {
  moveBeneath(from: string, rootFd: number, rel: string, byLink: boolean): void;
  openBeneath(rootFd: number, rel: string, flags: number): number;
  /** native/beneath/batch.c; absent from a binding built before them. */
  writeCheckedFiles?(
    dirFd: number,
    names: readonly string[],
    data: readonly Buffer[],
    sha256s: readonly string[],
    mtimesMs: readonly number[],
    keepOpen: boolean,
  ): Promise<ArrayBuffer>;
  moveFiles?(
    fromDirFd: number,
    names: readonly string[],
    rootFd: number,
    rels: readonly string[],
    byLink: boolean,
  ): Promise<ArrayBuffer>;
}

let loaded: Binding | null | undefined;

/** The binding (native/beneath), or null where this way is not available or turned off. */
export function binding(): Binding | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== 'linux' || process.env['MOSAIC_BENEATH'] === 'off') return loaded;
  try {
    const found = createRequire(import.meta.url)('mosaic-beneath') as Binding;
    if (typeof found.moveBeneath === 'function' && typeof found.openBeneath === 'function') {
      loaded = found;
    }
  } catch {
    // Not built (an optional dependency): the usual way.
  }
  return loaded;
}

/** An openat2 failure that says this way is not there at all: never again in this process. */
export function unavailable(code: string | undefined): boolean {
  if (code !== 'ENOSYS' && code !== 'EPERM') return false;
  loaded = null;
  return true;
}
