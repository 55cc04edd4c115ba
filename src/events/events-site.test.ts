/**
 * One site run as two processes on one metadata store (on PostgreSQL: two pools, truly
 * concurrent) and one photo store: an event created at one process, joined at the other, a
 * photo added at each at the same moment, voted at each, ends published with both photos —
 * the row locks keep the two processes from committing two photos on the same version.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { Agent } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { makeImage, waitFor } from '../../test/helpers/node-process.js';
import { LocalBlobStore } from '../blobs/local-blob-store.js';
import { Faults } from '../faults/faults.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { Site } from './core/types.js';
import type { Caller } from './event-access.js';
import { createEvents, type Events } from './index.js';

const SITE: Site = { id: 'site0001', name: 'A', url: 'http://127.0.0.1:9' };
const dirs: string[] = [];
const running: { events: Events; agent: Agent }[] = [];

afterEach(async () => {
  for (const { events, agent } of running.splice(0)) {
    await events.stop();
    await agent.close();
  }
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function processOf(store: MetadataStore, dataDir: string, photos: LocalBlobStore) {
  const agent = new Agent();
  const events = await createEvents({
    store,
    dataDir,
    photos,
    log: pino({ level: 'silent' }),
    faults: Faults.none(),
    agent,
    clusterKey: null,
    self: () => SITE,
    members: () => [],
  });
  running.push({ events, agent });
  events.start();
  return events;
}

describeEachDialect('one site, two processes', (ctx) => {
  it('an event through two processes of a site: both photos, published once', async () => {
    const [storeA, storeB] = await ctx.openWriters(2);
    if (!storeA || !storeB) throw new Error('two stores expected');
    const shared = await mkdtemp(join(tmpdir(), 'mosaic-site-'));
    dirs.push(shared);
    const photos = new LocalBlobStore(join(shared, 'events'));
    await photos.init();
    const one = await processOf(storeA, join(shared, 'one'), photos);
    const two = await processOf(storeB, join(shared, 'two'), photos);

    const alice: Caller = {
      principal: { username: 'alice', role: 'user' },
      participantIds: new Map(),
    };
    const created = await one.service.create(
      alice.principal ?? { username: 'alice', role: 'user' },
      { title: 'Two processes', votingSeconds: 60, maxParticipants: 5 },
      alice,
    );
    const id = created.id;
    await waitFor(async () => (await two.service.get(id, alice)).phase === 'collecting', {
      what: 'the event to be created',
    });
    const invite = new URL(created.inviteUrl ?? `http://x/?invite=none`).searchParams.get('invite');
    const joined = await two.service.join(
      id,
      { principal: null, participantIds: new Map() },
      { invite: invite ?? '', name: 'Bob' },
    );
    const bob: Caller = { principal: null, participantIds: new Map([[id, joined.participantId]]) };

    const stage = async (seed: number) =>
      photos.stage(Readable.from([await makeImage({ seed })]), 1 << 20);
    const [stagedA, stagedB] = await Promise.all([stage(1), stage(2)]);
    await Promise.all([
      one.service.addPhoto(id, alice, stagedA),
      two.service.addPhoto(id, bob, stagedB),
    ]);
    const view = await one.service.get(id, alice);
    expect(view.montageVersion).toBe(2);
    expect(view.photos.map((p) => p.participant).sort()).toEqual(['Bob', 'alice']);

    await one.service.vote(id, alice, { montageVersion: 2, decision: 'accept' });
    await two.service.vote(id, bob, { montageVersion: 2, decision: 'accept' });
    await waitFor(async () => (await two.service.get(id, bob)).phase === 'published', {
      what: 'the event to be published',
    });
    const outcomes = await storeA.db
      .selectFrom('event_tx')
      .select(['id', 'state'])
      .where('role', '=', 'coordinator')
      .where('kind', '=', 'outcome')
      .execute();
    expect(outcomes).toEqual([{ id: `out_${id.slice(4)}_1`, state: 'committed' }]);
    const open = await storeA.db
      .selectFrom('event_tx')
      .select('id')
      .where('state', 'in', ['preparing', 'prepared'])
      .execute();
    expect(open).toEqual([]);
  });
});
