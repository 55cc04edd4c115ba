/**
 * A node on a PostgreSQL that stops answering (every server process frozen: connections stay
 * open, nothing answers) answers its requests 503 `unavailable` within the database URL's
 * `timeout=`, keeps no picture from a request that failed, and works again as soon as the database answers, with
 * nothing of the outage left in its pool.
 */
import { afterAll, expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeImage,
  startNode,
  waitFor,
  type ErrorBody,
  type PictureList,
} from '../helpers/node-process.js';
import { startPostgres } from '../helpers/postgres.js';

afterAll(cleanup);

test('requests fail as 503 unavailable while PostgreSQL is frozen, and work again after', async () => {
  const pg = await startPostgres();
  const database = new URL(await pg.createDatabase());
  database.searchParams.set('timeout', '1');
  const node = await startNode({ args: ['--database', database.toString()] });
  let thaw = (): void => undefined;
  try {
    const admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const before = await admin.upload({ file: await makeImage(), fields: { title: 'before' } });
    expect(before.status).toBe(201);

    thaw = await pg.freeze();
    const started = Date.now();
    const [list, upload] = await Promise.all([
      admin.get<ErrorBody>('/api/pictures'),
      admin.upload<ErrorBody>({ file: await makeImage({ seed: 2 }), fields: { title: 'during' } }),
    ]);
    const took = Date.now() - started;
    for (const res of [list, upload]) {
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
      expect(res.body.error.message).toMatch(/database is not answering/);
    }
    // Each waited about its 1 s limit (its session check, then its own query), not for ever.
    expect(took).toBeLessThan(8_000);
    thaw();

    const after = await waitFor(
      async () => {
        const res = await admin.get<PictureList>('/api/pictures');
        return res.status === 200 ? res.body : false;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'the node to answer again' },
    );
    expect(after.items.map((p) => p.title)).toEqual(['before']);
    const again = await admin.upload({
      file: await makeImage({ seed: 3 }),
      fields: { title: 'after' },
    });
    expect(again.status).toBe(201);
  } finally {
    thaw();
    await node.stop();
    await pg.stop();
  }
});
