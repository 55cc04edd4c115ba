import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/helpers/dialects.js';
import { startPostgres, type PostgresServer } from '../../../test/helpers/postgres.js';
import type { MetadataStore } from './dialect.js';
import { openPostgresStore } from './postgres.js';
import {
  LocalSiteHub,
  SITE_BUS_CHANNEL,
  decodePayload,
  encodePayload,
  openPostgresSiteBus,
  type PostgresSiteBus,
  type SiteBusMessage,
} from './site-bus.js';

/** Collects a bus's messages; `next()` returns the next unread one, waiting up to 5 s. */
function inbox(bus: { subscribe(l: (m: SiteBusMessage) => void): () => void }) {
  const messages: SiteBusMessage[] = [];
  const waiters: (() => void)[] = [];
  bus.subscribe((m) => {
    messages.push(m);
    waiters.splice(0).forEach((w) => {
      w();
    });
  });
  let read = 0;
  return {
    messages,
    async next(timeoutMs = 5000): Promise<SiteBusMessage> {
      const count = ++read;
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`no message ${count} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      const message = messages[count - 1];
      if (!message) throw new Error('missing message');
      return message;
    },
  };
}

describe('site bus payload', () => {
  it('round-trips and refuses what is not ours', () => {
    expect(decodePayload(encodePayload('p1', { origin: 'abc', seq: 42 }))).toEqual({
      p: 'p1',
      o: 'abc',
      s: 42,
    });
    for (const junk of ['', 'null', '{}', '{"p":"x","o":"","s":1}', '{"p":"x","o":"a","s":-1}']) {
      expect(decodePayload(junk), junk).toBe(null);
    }
    expect(decodePayload('{"p":"x","o":"a","s":1.5}')).toBe(null);
  });
});

describe('LocalSiteBus (one process)', () => {
  it('tells the other members, not the sender', async () => {
    const hub = new LocalSiteHub();
    const [a, b] = [hub.join(), hub.join()];
    const fromA = inbox(a);
    const fromB = inbox(b);
    await a.announce(undefined as never, { origin: 'o', seq: 3 });
    expect(await fromB.next()).toEqual({ kind: 'ops', origin: 'o', seq: 3 });
    expect(fromA.messages).toEqual([]);
    await b.close();
    await a.announce(undefined as never, { origin: 'o', seq: 4 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fromB.messages).toHaveLength(1);
  });
});

describe.skipIf(!DIALECTS.includes('postgres'))('PostgresSiteBus', () => {
  let server: PostgresServer;
  const opened: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((x) => x.close()));
  });
  afterAll(async () => {
    await server.stop();
  });

  async function process(url: string): Promise<{ store: MetadataStore; bus: PostgresSiteBus }> {
    const store = await openPostgresStore(url);
    const bus = await openPostgresSiteBus(url, { minBackoffMs: 50 });
    opened.push(bus, store);
    return { store, bus };
  }

  it('delivers a commit to the other process when the transaction commits, not before', async () => {
    const url = await server.createDatabase();
    const one = await process(url);
    const two = await process(url);
    const atOne = inbox(one.bus);
    const atTwo = inbox(two.bus);

    let inside = -1;
    await one.store.transaction(async (trx) => {
      await one.bus.announce(trx, { origin: 'site', seq: 7 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      inside = atTwo.messages.length;
    });
    expect(inside).toBe(0);
    expect(await atTwo.next()).toEqual({ kind: 'ops', origin: 'site', seq: 7 });

    // A rolled-back transaction's announcement is never heard; the next commit is.
    await one.store
      .transaction(async (trx) => {
        await one.bus.announce(trx, { origin: 'site', seq: 8 });
        throw new Error('rollback');
      })
      .catch(() => undefined);
    await one.store.transaction((trx) => one.bus.announce(trx, { origin: 'site', seq: 9 }));
    expect(await atTwo.next()).toEqual({ kind: 'ops', origin: 'site', seq: 9 });

    // Both ways; nobody hears their own.
    await two.store.transaction((trx) => two.bus.announce(trx, { origin: 'site', seq: 10 }));
    expect(await atOne.next()).toEqual({ kind: 'ops', origin: 'site', seq: 10 });
    expect(atOne.messages).toHaveLength(1);
    expect(atTwo.messages).toHaveLength(2);
  });

  it('ignores junk on the channel', async () => {
    const url = await server.createDatabase();
    const one = await process(url);
    const two = await process(url);
    const atTwo = inbox(two.bus);
    await sql`SELECT pg_notify(${SITE_BUS_CHANNEL}, 'not json')`.execute(one.store.db);
    await one.store.transaction((trx) => one.bus.announce(trx, { origin: 'o', seq: 1 }));
    expect(await atTwo.next()).toEqual({ kind: 'ops', origin: 'o', seq: 1 });
    expect(atTwo.messages).toHaveLength(1);
  });

  it('reconnects when its connection is killed, says to resync, and hears again', async () => {
    const url = await server.createDatabase();
    const one = await process(url);
    const two = await process(url);
    const atTwo = inbox(two.bus);
    const killed = await sql<{ n: number }>`
      SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND query = ${`LISTEN ${SITE_BUS_CHANNEL}`}`.execute(
      one.store.db,
    );
    expect(killed.rows[0]?.n).toBe(2);
    expect(await atTwo.next()).toEqual({ kind: 'resync' });
    expect(two.bus.listening).toBe(true);
    // `one` may still be reconnecting: announce until `two` hears it.
    const started = Date.now();
    while (atTwo.messages.length < 2 && Date.now() - started < 5000) {
      await one.store.transaction((trx) => one.bus.announce(trx, { origin: 'o', seq: 2 }));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(atTwo.messages[1]).toEqual({ kind: 'ops', origin: 'o', seq: 2 });
  });
});
