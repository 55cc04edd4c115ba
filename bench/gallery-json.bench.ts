/**
 * A gallery page's statement on PostgreSQL, alone: CPU per page of the node's client (pg and
 * the repository, this process) and of PostgreSQL's backend (its /proc), for the object path
 * (`PictureFactsRepository.timeline` / `SqlPictureRepository.list`: 51 rows of 13 columns,
 * each turned into a view) and the JSON path (`GalleryJsonRepository.page`: one text); then what
 * an authenticated page costs: the session's statement (`CredentialRepository.findSession`) and
 * the JSON page, two round trips, against both in one statement (`pageForSession`).
 *
 *   npm run bench:gallery-sql
 *
 * Knobs: GJ_PICTURES (default 300), GJ_PAGES (executions per round, default 2000), GJ_ROUNDS
 * (default 2), GJ_SORT (taken or added, default taken). One connection (pool of 1). Prints
 * figures; asserts nothing.
 */
import { cpuUsage } from 'node:process';
import { sql } from 'kysely';
import { startPostgres } from '../test/helpers/postgres.js';
import { NO_FACTS } from '../src/pictures/core/photo-facts.js';
import { SqlAccountRepository } from '../src/accounts/account.repository.js';
import { SqlCredentialRepository } from '../src/accounts/credential.repository.js';
import { GalleryJsonRepository } from '../src/pictures/gallery-json.repository.js';
import { PictureFactsRepository } from '../src/pictures/picture-facts.repository.js';
import { SqlPictureRepository } from '../src/pictures/picture.repository.js';
import { PHONE_FACTS, addPicture, id } from '../src/pictures/testing.js';
import { openMetadataStore } from '../src/storage/metadata/store.js';
import { processCpuMs } from './lib/cpu.js';

const PICTURES = Number(process.env['GJ_PICTURES'] ?? 300);
const PAGES = Number(process.env['GJ_PAGES'] ?? 2000);
const ROUNDS = Number(process.env['GJ_ROUNDS'] ?? 2);
const SORT = process.env['GJ_SORT'] === 'added' ? 'added' : 'taken';

async function main(): Promise<void> {
  const server = await startPostgres();
  try {
    const store = await openMetadataStore(await server.createDatabase(), { poolSize: 1 });
    const facts = new PictureFactsRepository(store);
    const t0 = Date.parse('2026-11-30T10:00:00Z');
    for (let n = 1; n <= PICTURES; n++) {
      await addPicture(store, n, t0 - n * 60_013, { title: `picture ${n}` });
      await facts.save(id(n), n % 2 === 0 ? PHONE_FACTS : NO_FACTS, 1);
    }
    const pictures = new SqlPictureRepository(store);
    const pages = new GalleryJsonRepository(store);
    const accounts = new SqlAccountRepository(store);
    const credentials = new SqlCredentialRepository(store);
    await store.db.transaction().execute(async (trx) => {
      await accounts.putUser(trx, { username: 'ana', passwordHash: 'x', role: 'user' }, 'h');
    });
    await credentials.createSession('bench-session', 'ana', t0, Number.MAX_SAFE_INTEGER);
    const session = { idHash: 'bench-session', now: Date.now() };
    const backend = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db))
      .rows[0]?.pid;
    const paths: Record<string, () => Promise<unknown>> = {
      objects: () =>
        SORT === 'taken' ? facts.timeline({ limit: 51 }) : pictures.list({ limit: 51 }),
      json: () => pages.page({ sort: SORT, limit: 50 }),
      'session, then json': async () => {
        if (!(await credentials.findSession(session.idHash, session.now)))
          throw new Error('session');
        return pages.page({ sort: SORT, limit: 50 });
      },
      'json with the session': async () => {
        const found = await pages.pageForSession(session, { sort: SORT, limit: 50 });
        if (!found) throw new Error('session');
        return found;
      },
    };
    console.log(
      `${PICTURES} pictures, page of 50 by ${SORT}, ${PAGES} pages a round, load ${(await loadAverage()).join(' ')}`,
    );
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, run] of Object.entries(paths)) {
        for (let i = 0; i < 200; i++) await run(); // warm: prepared, compiled, optimised
        const pgBefore = await processCpuMs(backend);
        const before = cpuUsage();
        const start = performance.now();
        for (let i = 0; i < PAGES; i++) await run();
        const wall = performance.now() - start;
        const own = cpuUsage(before);
        const pgMs = (await processCpuMs(backend)) - pgBefore;
        const perPage = (ms: number) => (ms / PAGES).toFixed(3);
        console.log(
          `round ${round} ${name}: client ${perPage((own.user + own.system) / 1000)} ms, PostgreSQL ${perPage(pgMs)} ms, wall ${perPage(wall)} ms a page`,
        );
      }
    }
    await store.close();
  } finally {
    await server.stop();
  }
}

async function loadAverage(): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3);
}

await main();
