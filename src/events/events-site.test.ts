/**
 * One site run as two processes on one metadata store (on PostgreSQL: two pools, truly
 * concurrent) and one photo store: an event created at one process, joined at the other, a
 * photo added at each at the same moment, voted at each, ends published with both photos —
 * the row locks keep the two processes from committing two photos on the same version. And
 * a round closed by one process (it answered the master's vote collection) is closed for the
 * other, whose clock is behind.
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

async function processOf(
  store: MetadataStore,
  dataDir: string,
  photos: LocalBlobStore,
  now: () => number = Date.now,
) {
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
    now,
  });
  running.push({ events, agent });
  events.start();
  return events;
}

const alice: Caller = {
  principal: { username: 'alice', role: 'user' },
  participantIds: new Map(),
};

describeEachDialect('one site, two processes', (ctx) => {
  /** Processes one and two of a site; two's clock is `behindMs` behind one's. */
  async function site(behindMs = 0) {
    const [storeA, storeB] = await ctx.openWriters(2);
    if (!storeA || !storeB) throw new Error('two stores expected');
    const shared = await mkdtemp(join(tmpdir(), 'mosaic-site-'));
    dirs.push(shared);
    const photos = new LocalBlobStore(join(shared, 'events'));
    await photos.init();
    const one = await processOf(storeA, join(shared, 'one'), photos);
    const two = await processOf(storeB, join(shared, 'two'), photos, () => Date.now() - behindMs);
    return { storeA, photos, one, two };
  }

  /** An event created at one, Bob joined at two, a photo of each: version 2, collecting. */
  async function twoPhotos(s: Awaited<ReturnType<typeof site>>, votingSeconds: number) {
    const { one, two, photos } = s;
    const created = await one.service.create(
      { username: 'alice', role: 'user' },
      { title: 'Two processes', votingSeconds, maxParticipants: 5 },
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
    return { id, bob };
  }

  it('an event through two processes of a site: both photos, published once', async () => {
    const s = await site();
    const { one, two, storeA } = s;
    const { id, bob } = await twoPhotos(s, 60);
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

  it('a round closed at one process takes no vote at the other, whose clock is an hour behind', async () => {
    const s = await site(3_600_000);
    const { one, two } = s;
    const { id, bob } = await twoPhotos(s, 600);
    await one.service.vote(id, alice, { montageVersion: 2, decision: 'accept' });
    // The master's collection reaches process one: it answers with the votes recorded so far
    // and closes the round here (as the master does at its own site before it aborts).
    const answer = await one.service.rounds.onCollect({ eventId: id, round: 1, version: 2 });
    expect(answer.votes.map((v) => v.decision)).toEqual(['accept']);
    // Bob at process two: by its clock the deadline is an hour away, yet the round is closed.
    await expect(
      two.service.vote(id, bob, { montageVersion: 2, decision: 'accept' }),
    ).rejects.toMatchObject({ status: 409, code: 'not_voting' });
    const again = await two.service.rounds.onCollect({ eventId: id, round: 1, version: 2 });
    expect(again.votes).toHaveLength(1);
  });
});
