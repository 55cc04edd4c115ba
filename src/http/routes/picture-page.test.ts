/**
 * A gallery page built as JSON by PostgreSQL is, byte for byte, the page the object path
 * serializes: on SQLite (the default node) for the same rows, and on PostgreSQL itself.
 * Every sort, category, search, page size and cursor, with rows a page must not show
 * (deleted, bytes missing), ties on the sort key, strings that need escaping, every shape of
 * facts, and rows the JSON path leaves to the object path.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { serializerCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../test/helpers/postgres.js';
import { canonicalFacts, NO_FACTS, type PhotoFacts } from '../../pictures/core/photo-facts.js';
import { GalleryJsonRepository } from '../../pictures/gallery-json.repository.js';
import { PictureFactsRepository } from '../../pictures/picture-facts.repository.js';
import { SqlPictureRepository } from '../../pictures/picture.repository.js';
import { PHONE_FACTS, addPicture, id } from '../../pictures/testing.js';
import type { MetadataStore } from '../../storage/metadata/dialect.js';
import { openMetadataStore } from '../../storage/metadata/store.js';
import { Picture, PictureList, PictureListQuery } from '../schemas.js';
import { readPicturePage, type PageSource } from './picture-page.js';

/** The route's serializer, as the app compiles it for the page's schema. */
const serialize = serializerCompiler({
  schema: PictureList,
  method: 'GET',
  url: '/api/pictures',
}) as (data: unknown) => string;

/** The bytes the route answers, from the JSON path or the object path. */
async function body(source: PageSource, query: Record<string, string>): Promise<string> {
  const page = await readPicturePage(source, PictureListQuery.parse(query));
  return typeof page === 'string' ? page : serialize(page);
}

/** Pages the JSON path answered (not left to the object path). */
let jsonPages = 0;

function sourceOf(store: MetadataStore, json: boolean): PageSource {
  const pages = new GalleryJsonRepository(store);
  const pictures = new SqlPictureRepository(store);
  const facts = new PictureFactsRepository(store);
  return {
    pageJson: async (query) => {
      const page = json ? await pages.page(query) : null;
      if (page !== null) jsonPages++;
      return page;
    },
    list: (query) => pictures.list(query),
    timeline: (query) => facts.timeline(query),
  };
}

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const STRANGE = [
  'quote " and \\ backslash',
  'tab\tnew\nline\r\u0001\u001f\u007f',
  'été 😀 \u2028 </script>',
  "it's",
];

/** The same rows in every store: facts of every shape, ties, hidden rows. */
async function fill(store: MetadataStore): Promise<void> {
  const facts = new PictureFactsRepository(store);
  const shapes: (PhotoFacts | null)[] = [
    PHONE_FACTS,
    null, // no facts row yet
    NO_FACTS,
    { ...NO_FACTS, takenAt: '2019-07-14T18:30:05.120+02:00' },
    {
      takenAt: '2001-02-03T04:05:06',
      camera: { make: 'Canon', model: null, lens: 'EF 50mm "f/1.8"' },
      exposure: { exposureTime: 1 / 3, fNumber: null, focalLength: 50, iso: 6400 },
      gps: { latitude: -33.868_82, longitude: 151.209_29, altitude: -12.5 },
      orientation: 1,
    },
    {
      ...NO_FACTS,
      takenAt: '2026-11-30T10:00:00',
      gps: { latitude: 0.1, longitude: -0.2, altitude: 3 },
    },
  ];
  for (let n = 1; n <= 40; n++) {
    // Ties: pictures 1-40 share 14 upload times (ids order them).
    const createdAt = T0 - Math.floor(n / 3) * 61_001 + (n % 5 === 0 ? 999 : 0);
    await addPicture(store, n, createdAt, {
      title: n % 4 === 0 ? (STRANGE[n % STRANGE.length] ?? '') : `beach day ${n}`,
      desc: n % 6 === 0 ? 'sand\nand "sea"' : '',
      category: n % 3 === 0 ? 'trips' : n % 7 === 0 ? 'été' : '',
      alive: n % 11 !== 0,
      hasBlob: n % 13 !== 0,
      updatedAt: createdAt + n * 1_234,
    });
    const shape = shapes[n % shapes.length];
    if (shape !== null && shape !== undefined) await facts.save(id(n), shape, 1);
  }
  // Edited after: PostgreSQL's stored view of the row follows (a generated column).
  for (const n of [2, 9]) {
    await store.db
      .updateTable('pictures')
      .set({ title: `renamed "${n}"`, category: 'trips', updated_at: T0 + n })
      .where('id', '=', id(n))
      .execute();
  }
}

const FORMS: Record<string, string>[] = [];
for (const sort of ['added', 'taken']) {
  for (const category of [undefined, 'trips', 'été', '', 'none']) {
    for (const q of [undefined, 'beach', 'sea', `%_'`]) {
      for (const limit of ['1', '7', '50']) {
        const form: Record<string, string> = { sort, limit };
        if (category !== undefined) form['category'] = category;
        if (q !== undefined) form['q'] = q;
        FORMS.push(form);
      }
    }
  }
}

/** Every page of `form`, following the cursors: each body from `a` equals the one from `b`. */
async function samePages(a: PageSource, b: PageSource, form: Record<string, string>) {
  let query = form;
  let pages = 0;
  for (;;) {
    const [left, right] = await Promise.all([body(a, query), body(b, query)]);
    expect(left, JSON.stringify(query)).toBe(right);
    pages++;
    const next = (JSON.parse(left) as { nextCursor: string | null }).nextCursor;
    if (next === null) return pages;
    query = { ...form, cursor: next };
  }
}

describe('gallery page as JSON from PostgreSQL', () => {
  let server: PostgresServer | undefined;
  let dir = '';
  let sqlite: MetadataStore;
  let postgres: MetadataStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-page-'));
    server = await startPostgres();
    sqlite = await openMetadataStore(join(dir, 'store.db'));
    postgres = await openMetadataStore(await server.createDatabase());
    await Promise.all([fill(sqlite), fill(postgres)]);
  }, 60_000);
  afterAll(async () => {
    await sqlite.close();
    await postgres.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds pages on PostgreSQL only', async () => {
    expect(await new GalleryJsonRepository(sqlite).page({ sort: 'added', limit: 5 })).toBeNull();
    const page = await new GalleryJsonRepository(postgres).page({ sort: 'added', limit: 5 });
    expect(page?.items.startsWith('{"id":')).toBe(true);
  });

  it('gives the bytes SQLite gives, for every form and page', async () => {
    let pages = 0;
    jsonPages = 0;
    for (const form of FORMS) {
      pages += await samePages(sourceOf(postgres, true), sourceOf(sqlite, false), form);
    }
    expect(pages).toBeGreaterThan(FORMS.length * 2);
    expect(jsonPages).toBe(pages); // every one built by PostgreSQL
  }, 60_000);

  it('gives the bytes the object path gives on PostgreSQL', async () => {
    for (const form of FORMS) {
      await samePages(sourceOf(postgres, true), sourceOf(postgres, false), form);
    }
  }, 60_000);

  it('shows no deleted picture nor one whose bytes are missing', async () => {
    const page = JSON.parse(await body(sourceOf(postgres, true), { limit: '200' })) as {
      items: { id: string }[];
    };
    const shown = new Set(page.items.map((p) => p.id));
    for (let n = 1; n <= 40; n++) {
      expect(shown.has(id(n)), `picture ${n}`).toBe(n % 11 !== 0 && n % 13 !== 0);
    }
  });

  it('leaves rows it cannot write exactly to the object path, with the same answer', async () => {
    const url = server ? await server.createDatabase() : '';
    const stores = [await openMetadataStore(join(dir, 'odd.db')), await openMetadataStore(url)];
    try {
      for (const store of stores) {
        await addPicture(store, 1, T0);
        await addPicture(store, 2, T0 + 1, { updatedAt: Date.parse('2300-01-01T00:00:00Z') });
        await addPicture(store, 3, T0 + 2);
        // A facts text not written by canonicalFacts (keys in another order).
        await store.db
          .insertInto('picture_facts')
          .values({
            id: id(3),
            taken_key: null,
            reader: 1,
            facts: '{"orientation":3,"takenAt":null}',
          })
          .execute();
      }
      const [onSqlite, onPostgres] = stores as [MetadataStore, MetadataStore];
      const pages = new GalleryJsonRepository(onPostgres);
      expect(await pages.page({ sort: 'added', limit: 1 })).toBeNull(); // 3, non-canonical facts
      expect(
        await pages.page({ sort: 'added', limit: 1, cursor: { key: T0 + 2, id: id(3) } }),
      ).toBeNull(); // 2: the year 2300
      expect(
        await pages.page({ sort: 'added', limit: 1, cursor: { key: T0 + 1, id: id(2) } }),
      ).not.toBeNull();
      for (const form of [{ limit: '1' }, { limit: '5' }, { sort: 'taken', limit: '2' }]) {
        await samePages(sourceOf(onPostgres, true), sourceOf(onSqlite, false), form);
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});

describe('canonical facts', () => {
  const text = fc.option(fc.string({ maxLength: 8 }));
  const num = fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }));
  const facts: fc.Arbitrary<PhotoFacts> = fc.record({
    takenAt: text,
    camera: fc.option(fc.record({ lens: text, model: text, make: text })),
    exposure: fc.option(fc.record({ iso: num, focalLength: num, fNumber: num, exposureTime: num })),
    gps: fc.option(
      fc.record({
        altitude: num,
        longitude: fc.double({ noNaN: true, noDefaultInfinity: true }),
        latitude: fc.double({ noNaN: true, noDefaultInfinity: true }),
      }),
    ),
    orientation: fc.option(fc.integer({ min: 1, max: 8 })),
  });

  it('are stored as the text the API writes for them, whatever their key order', () => {
    const view = { id: 'x', title: '', category: '', desc: '', contentType: 'image/jpeg' };
    const base = { ...view, size: 1, width: 1, height: 1, owner: '', origin: '' };
    const picture = { ...base, createdAt: 'a', updatedAt: 'b' };
    const viewText = JSON.stringify(picture).slice(0, -1);
    fc.assert(
      fc.property(facts, (f) => {
        const api = JSON.stringify(Picture.parse({ ...picture, ...f }));
        expect(`${viewText},${JSON.stringify(canonicalFacts(f)).slice(1)}`).toBe(api);
      }),
    );
  });
});
