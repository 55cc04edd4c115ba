/**
 * The last step of a batch of pulled small files (small-writes.ts, FolderWriter.placeLogged):
 * placing them one at a time, and what is owed to the files left when that stops.
 */
import { rmSync } from 'node:fs';
import type { Wanted } from './folder-write.js';
import type { Ready } from './small-writes.js';

/**
 * Places a batch's files one at a time with `place` (which handles each file's own errors); if
 * one throws (the folder went away), the files after it are reported to `notPlaced` and their
 * temp files removed, and the error is thrown. The one that threw keeps its temp file until the
 * next pull's sweep.
 */
export async function placeEach(
  files: readonly Ready[],
  place: (file: Ready) => Promise<void>,
  notPlaced: (wanted: Wanted) => void,
): Promise<void> {
  let next = 0;
  try {
    for (; next < files.length; next++) await place(files[next] as Ready);
  } finally {
    for (const r of files.slice(next + 1)) {
      notPlaced(r.wanted);
      rmSync(r.tmp, { force: true });
    }
  }
}
