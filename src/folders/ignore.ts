/**
 * `.mosaicignore` at a folder's root, in gitignore syntax (the `ignore` package implements it).
 * Matching is case-sensitive on every platform: the file syncs like any other, so every node —
 * whatever its file system — must reach the same verdict for the same path. A `.mosaic/`
 * directory, Mosaic's own at the top or any below it, is always ignored.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore from 'ignore';
import { hasInternalSegment } from './core/paths.js';

export const IGNORE_FILE = '.mosaicignore';
export const MOSAIC_DIR = '.mosaic';

/** relPath: relative, '/'-separated; isDir: whether it names a directory (for `dir/` rules). */
export type IsIgnored = (relPath: string, isDir: boolean) => boolean;

/** The ignore rules of the folder at `root`; no `.mosaicignore` means only `.mosaic/`. */
export async function loadIgnore(root: string): Promise<IsIgnored> {
  let text = '';
  try {
    text = await readFile(join(root, IGNORE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return ignoreRules(text);
}

/**
 * How many paths a matcher answers before it is made again: the package keeps every verdict
 * (and every parent directory's) for good, which at 100 000 files held 6 MB of table and
 * 10 MB of path strings in an idle node (a heap snapshot, docs/benchmarks.md).
 */
const VERDICTS_KEPT = 10_000;

/** The matcher for the rules in `text` (the content of a `.mosaicignore`). */
export function ignoreRules(text: string, verdictsKept = VERDICTS_KEPT): IsIgnored {
  const make = () => ignore({ ignorecase: false }).add(text);
  let rules = make();
  let answered = 0;
  return (relPath, isDir) => {
    if (relPath === '') return false;
    // Any `.mosaic` (in any letter case, at any depth): a copied or nested folder's or
    // device's own directory (its device.db, its trash) is never content.
    if (hasInternalSegment(relPath)) return true;
    if (++answered > verdictsKept) {
      rules = make();
      answered = 1;
    }
    // The package tells a directory by a trailing slash (for rules like `build/`).
    return rules.ignores(isDir ? `${relPath}/` : relPath);
  };
}
