/**
 * Rows for the trash's unit tests (imported by `*.test.ts` only): pictures written straight into
 * the metadata store, deleted or not, as the operations' apply leaves them.
 */
import { encodeHlc } from '../core/hlc.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';

export const at = (wall: number, node = 'n1') => encodeHlc({ wall, counter: 0, node });
export const pic = (n: number) => n.toString(16).padStart(64, '0');

/** A picture row created at wall 1 and, when `deletedAt` is given, deleted then. */
export async function addPicture(
  store: MetadataStore,
  n: number,
  deletedAt: number | null,
  owner = 'ann',
) {
  await store.db
    .insertInto('pictures')
    .values({
      id: pic(n),
      content_type: 'image/png',
      size: 100 + n,
      width: 4,
      height: 3,
      owner,
      origin_name: 'n1',
      created_at: 1,
      info_hlc: at(1),
      title: `P${n}`,
      title_hlc: at(1),
      category: 'c',
      category_hlc: at(1),
      descr: '',
      desc_hlc: at(1),
      live_hlc: at(1),
      deleted_hlc: deletedAt === null ? null : at(deletedAt),
      updated_at: 1,
      alive: deletedAt === null ? 1 : 0,
      has_blob: deletedAt === null ? 1 : 0,
    })
    .execute();
}
