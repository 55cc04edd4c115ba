/**
 * Test fixtures for the picture repositories: picture rows written straight through the schema,
 * with real HLCs, as applying `picture.create` would leave them.
 */
import { encodeHlc } from '../core/hlc.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { PhotoFacts } from './core/photo-facts.js';

/** The facts of a phone photo: every field set. */
export const PHONE_FACTS: PhotoFacts = {
  takenAt: '2019-07-14T18:30:05+02:00',
  camera: { make: 'Apple', model: 'iPhone 13', lens: null },
  exposure: { exposureTime: 0.004, fNumber: 1.8, focalLength: 5.1, iso: 100 },
  gps: { latitude: 48.85, longitude: 2.29, altitude: null },
  orientation: 6,
};

/** The id (a SHA-256 in hex) of test picture `n`. */
export const id = (n: number) => n.toString(16).padStart(64, '0');
const H = encodeHlc({ wall: 1_700_000_000_000, counter: 0, node: 'n1' });

export async function addPicture(
  store: MetadataStore,
  n: number,
  createdAt: number,
  options: {
    alive?: boolean;
    category?: string;
    title?: string;
    desc?: string;
    hasBlob?: boolean;
    updatedAt?: number;
  } = {},
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
      descr: options.desc ?? '',
      desc_hlc: H,
      live_hlc: options.alive === false ? null : H,
      deleted_hlc: null,
      updated_at: options.updatedAt ?? createdAt,
      alive: options.alive === false ? 0 : 1,
      has_blob: options.hasBlob === false ? 0 : 1,
    })
    .execute();
}
