/**
 * At start: which pictures' bytes are not where their state says, found by one listing of the
 * blob store merged with the rows (PictureService.repairAllBytes settles each one found).
 */
import type { BlobStore } from '../blobs/blob-store.js';
import type { PictureRepository } from './picture.repository.js';

/**
 * Calls `settle` for every picture whose byte flag disagrees with the store, or whose bytes are
 * not where its state says (a crash between a move and its record, or an older version's race).
 * One listing of the store, not a request per picture (S3: a HEAD each made a start take
 * minutes on a large library), merged with the rows: both come in id order, a page at a time,
 * so neither is ever held whole (a million pictures). `settle` checks again under the picture's
 * lock, so a hash the merge misses costs a check, never a wrong flag. Returns how many.
 */
export async function settleInconsistentBytes(
  pictures: Pick<PictureRepository, 'byteFlags'>,
  blobs: Pick<BlobStore, 'ids'>,
  settle: (id: string) => Promise<void>,
): Promise<number> {
  let repaired = 0;
  const stored = blobs.ids()[Symbol.asyncIterator]();
  try {
    let next = await stored.next();
    for await (const row of pictures.byteFlags()) {
      while (next.done !== true && next.value < row.id) next = await stored.next();
      const present = next.done !== true && next.value === row.id;
      const consistent = row.alive ? row.hasBlob === present : !row.hasBlob && !present;
      if (consistent) continue;
      await settle(row.id);
      repaired++;
    }
  } finally {
    await stored.return?.();
  }
  return repaired;
}
