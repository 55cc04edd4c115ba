/**
 * What a pull leaves in a folder's temp directory (`.mosaic/tmp/`) and the sweep of it before
 * the next pull (FolderPull.pullAll).
 */
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { folderTmpDir } from './marker.js';

/** The suffix of a small file's temp file (`<hash>.<prefix><count>.small`): never resumed, swept. */
export const SMALL_TMP = '.small';

/** The suffix of a directory made in the temp directory before its rename into place. */
export const DIR_TMP = '.dir';

/**
 * Temp files that are also linked into the folder (a crash between link and unlink in
 * `place`): removed, so a resumed transfer never writes into a placed file. Small files' temp
 * files are never resumed: all removed (no pull is running).
 */
export async function sweepLinkedTmp(root: string): Promise<void> {
  const dir = folderTmpDir(root);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const file = join(dir, name);
    if (name.endsWith(SMALL_TMP)) {
      await rm(file, { force: true });
      continue;
    }
    // A directory never renamed into place (killed in between): empty, made here.
    if (name.endsWith(DIR_TMP)) {
      await rmdir(file).catch(() => undefined);
      continue;
    }
    const info = await lstat(file).catch(() => null);
    if (info?.isFile() === true && info.nlink > 1) await rm(file, { force: true });
  }
}
