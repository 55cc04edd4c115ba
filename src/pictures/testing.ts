/**
 * Test fixtures for the picture repositories: picture rows written straight through the schema,
 * with real HLCs, as applying `picture.create` would leave them.
 */
import { encodeHlc } from '../core/hlc.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';

/** The id (a SHA-256 in hex) of test picture `n`. */
export const id = (n: number) => n.toString(16).padStart(64, '0');
const H = encodeHlc({ wall: 1_700_000_000_000, counter: 0, node: 'n1' });

export async function addPicture(
  store: MetadataStore,
  n: number,
  createdAt: number,
  options: { alive?: boolean; category?: string; title?: string; hasBlob?: boolean } = {},
): Promise<void> {
  await store.db
    .insertInto('pictures')
    .values({
      id: id(n),
      content_type: 'image/jpeg',
      size: 100,
      width: 10,
      height: 10,
      owner: 'ann',
      origin_name: 'n1',
      created_at: createdAt,
      info_hlc: H,
      title: options.title ?? `picture ${n}`,
      title_hlc: H,
      category: options.category ?? '',
      category_hlc: H,
      descr: '',
      desc_hlc: H,
      live_hlc: options.alive === false ? null : H,
      deleted_hlc: null,
      updated_at: createdAt,
      alive: options.alive === false ? 0 : 1,
      has_blob: options.hasBlob === false ? 0 : 1,
    })
    .execute();
}
