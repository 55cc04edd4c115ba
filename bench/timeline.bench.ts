/**
 * Timeline bench: what the web app's library view costs the metadata store at a large library,
 * on SQLite and on a real PostgreSQL (started by the tests' helper). N visible pictures (two
 * thirds with a date taken, spread over ~3 years; one in ten in a category) are written straight
 * through the schema, then the repository's queries are timed: the first page of 100 by date
 * taken, a page from a cursor at the middle, the first page of a category, and the month index
 * (`GET /api/timeline`). Prints figures; asserts nothing.
 *
 *   npm run bench:timeline            (BENCH_TIMELINE_PICTURES=100000 by default)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeHlc } from '../src/core/hlc.js';
import { PictureFactsRepository } from '../src/pictures/picture-facts.repository.js';
import type { MetadataStore } from '../src/storage/metadata/dialect.js';
import { openMetadataStore } from '../src/storage/metadata/store.js';
import { startPostgres } from '../test/helpers/postgres.js';

const PICTURES = Number(process.env['BENCH_TIMELINE_PICTURES'] ?? 100_000);
const BATCH = 400; // SQLite's limit on parameters per statement
const REPEATS = 20;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

async function fill(store: MetadataStore): Promise<void> {
  const hlc = encodeHlc({ wall: 1_700_000_000_000, counter: 0, node: 'bench' });
  const base = Date.parse('2024-01-01T00:00:00Z');
  for (let start = 0; start < PICTURES; start += BATCH) {
    await store.transaction(async (trx) => {
      const pictures = [];
      const facts = [];
      for (let n = start; n < Math.min(PICTURES, start + BATCH); n++) {
        const id = n.toString(16).padStart(64, '0');
        const createdAt = base + n * MINUTE;
        const taken = n % 3 === 0 ? null : createdAt - (n % 1000) * DAY;
        pictures.push({
          ...{ id, content_type: 'image/jpeg', size: 1, width: 1, height: 1 },
          ...{ owner: 'bench', origin_name: 'bench', created_at: createdAt, info_hlc: hlc },
          ...{ title: `picture ${n}`, title_hlc: hlc, descr: '', desc_hlc: hlc },
          ...{ category: n % 10 === 0 ? 'sea' : '', category_hlc: hlc },
          ...{ live_hlc: hlc, deleted_hlc: null, updated_at: createdAt },
          ...{ alive: 1, has_blob: 1, taken_key: taken },
        });
        facts.push({ id, taken_key: taken, facts: '{}', reader: 1 });
      }
      await trx.insertInto('pictures').values(pictures).execute();
      await trx.insertInto('picture_facts').values(facts).execute();
    });
  }
}

async function time(label: string, fn: () => Promise<unknown>, repeats = REPEATS) {
  await fn();
  const start = performance.now();
  for (let i = 0; i < repeats; i++) await fn();
  const ms = (performance.now() - start) / repeats;
  console.log(`  ${label.padEnd(34)} ${ms.toFixed(2).padStart(9)} ms`);
}

async function measure(engine: string, url: string): Promise<void> {
  const store = await openMetadataStore(url);
  try {
    const filled = performance.now();
    await fill(store);
    console.log(
      `${engine}: ${PICTURES} pictures written in ${((performance.now() - filled) / 1000).toFixed(1)} s (load average ${loadavg()[0]?.toFixed(1) ?? '?'})`,
    );
    const repo = new PictureFactsRepository(store);
    const middle = (await repo.timeline({ limit: Math.floor(PICTURES / 2) })).at(-1);
    const months = await repo.months();
    await time('first page of 100', () => repo.timeline({ limit: 100 }));
    await time('page of 100 at the middle', () =>
      repo.timeline({ limit: 100, ...(middle ? { cursor: middle } : {}) }),
    );
    await time('first page of a category', () => repo.timeline({ limit: 100, category: 'sea' }));
    await time(`month index (${months.length} months)`, () => repo.months(), 5);
  } finally {
    await store.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-timeline-'));
const pg = await startPostgres();
try {
  await measure('SQLite', join(dir, 'mosaic.db'));
  await measure('PostgreSQL', await pg.createDatabase());
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
