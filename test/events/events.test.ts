/**
 * Group photo events across 3 real node processes: the whole happy path, aborts (reject,
 * missing vote at the deadline), the refusals (upload while voting, stale vote, second vote,
 * non-participants) and bad input. One cluster serves every case; each case has its own event.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PEER_HEADERS, signRequest } from '../../src/replication/peer-auth.js';
import { nodeIdAt } from '../helpers/peer.js';
import {
  ADMIN_PASSWORD,
  api,
  login,
  makeImage,
  startNode,
  waitFor,
  type ErrorBody,
} from '../helpers/node-process.js';
import {
  Person,
  createEvent,
  eventAt,
  inviteOf,
  montageHash,
  waitAgreed,
  useThreeSites,
  type EventJson,
} from './events-helpers.js';

const { cluster, n } = useThreeSites();

/** An event created at n1 with one participant joined (and uploaded) at each site. */
async function eventWithPhotos(
  votingSeconds: number,
): Promise<{ event: EventJson; people: Person[] }> {
  const event = await createEvent(n[0], { title: 'Party', votingSeconds });
  await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
  const people = n.map((node, i) => new Person(`person${i + 1}`, node));
  for (const p of people) expect((await p.join(event, inviteOf(event))).status).toBe(200);
  for (const p of people) {
    const res = await p.upload(event.id);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  await waitAgreed(n, event.id, (e) => e.montageVersion === 3 && e.phase === 'collecting');
  return { event, people };
}

describe('group photo events across 3 sites', () => {
  it('happy path: create, join and upload everywhere, same montages, unanimous accept publishes', async () => {
    const event = await createEvent(n[0], { title: 'Summer', votingSeconds: 60 });
    expect(event.origin).toBe('n1');
    expect(event.inviteUrl).toContain(`/e/${event.id}?invite=`);
    expect(event.me.role).toBe('organiser');
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');

    const people = n.map((node, i) => new Person(`guest${i + 1}`, node));
    for (const p of people) {
      const joined = await p.join(event, inviteOf(event));
      expect(joined.status).toBe(200);
      expect(joined.body.me).toMatchObject({ role: 'participant', name: p.name, submitted: false });
      expect(joined.body.inviteUrl).toContain(p.node.node.url);
    }
    // Two photos from the first person, one from each of the others.
    for (const p of [...people, people[0] as Person]) {
      const res = await p.upload(event.id);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const agreed = await waitAgreed(n, event.id, (e) => e.montageVersion === 4);
    expect(agreed.photos.map((p) => p.participant)).toEqual([
      'guest1',
      'guest2',
      'guest3',
      'guest1',
    ]);

    // Every site builds the same montage for every version.
    for (const v of [1, 2, 3, 4]) {
      const hashes = await Promise.all(people.map((p) => montageHash(p.client(), event.id, v)));
      expect(hashes[0]).not.toBeNull();
      expect(new Set(hashes).size).toBe(1);
    }
    // Unpublished: not for visitors.
    expect(await montageHash(api(n[1].node.url), event.id)).toBeNull();
    expect((await api(n[1].node.url).get(`/api/events/${event.id}`)).status).toBe(403);

    const [a, b, c] = people as [Person, Person, Person];
    const first = await a.vote(event.id, 4, 'accept');
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.phase).toBe('voting');
    expect(first.body.deadline).not.toBeNull();
    await waitAgreed(n, event.id, (e) => e.phase === 'voting');
    expect((await b.vote(event.id, 4, 'accept')).status).toBe(200);
    expect((await c.vote(event.id, 4, 'accept')).status).toBe(200);

    const published = await waitAgreed(n, event.id, (e) => e.phase === 'published');
    expect(published.publishedAt).not.toBeNull();
    // Public at every site: a plain URL, no credentials, and the same bytes.
    const publicHashes = await Promise.all(
      n.map((node) => montageHash(api(node.node.url), event.id)),
    );
    expect(publicHashes[0]).not.toBeNull();
    expect(new Set(publicHashes).size).toBe(1);
    const visitor = await api(n[2].node.url).get<EventJson>(`/api/events/${event.id}`);
    expect(visitor.status).toBe(200);
    expect(visitor.body.me.role).toBe('visitor');
    expect(visitor.body.inviteUrl).toBeNull();
    // Closed for good.
    expect((await a.upload(event.id)).status).toBe(409);
    expect(
      (await a.client().get<{ items: EventJson[] }>('/api/events')).body.items.map((e) => e.id),
    ).toContain(event.id);
  });

  it('one reject aborts everywhere; uploads reopen and start a new round', async () => {
    const { event, people } = await eventWithPhotos(60);
    const [a, b, c] = people as [Person, Person, Person];
    expect((await a.vote(event.id, 3, 'accept')).status).toBe(200);
    await waitAgreed(n, event.id, (e) => e.phase === 'voting');

    // While voting: no upload, no stale vote, no second vote, no outsider.
    const during = await c.upload(event.id);
    expect(during.status).toBe(409);
    const stale = await b.vote(event.id, 2, 'accept');
    expect(stale.status).toBe(409);
    expect((stale.body as unknown as ErrorBody).error.code).toBe('stale_version');
    const again = await a.vote(event.id, 3, 'reject');
    expect(again.status).toBe(409);
    expect((again.body as unknown as ErrorBody).error.code).toBe('already_voted');
    const outsider = new Person('outsider', n[1]);
    expect((await outsider.vote(event.id, 3, 'accept')).status).toBe(403);
    expect(await montageHash(outsider.client(), event.id)).toBeNull();
    // A participant who joined but submitted nothing may not vote or see the montage.
    const lurker = new Person('lurker', n[1]);
    expect((await lurker.join(event, inviteOf(event))).status).toBe(200);
    expect((await lurker.vote(event.id, 3, 'accept')).status).toBe(403);
    expect(await montageHash(lurker.client(), event.id)).toBeNull();

    expect((await b.vote(event.id, 3, 'reject')).status).toBe(200);
    const aborted = await waitAgreed(n, event.id, (e) => e.phase === 'aborted');
    expect(aborted.publishedAt).toBeNull();
    expect((await eventAt(n[2], event.id)).deadline).toBeNull();

    // A later upload starts version 4 and round 2 everywhere; voting works again.
    expect((await c.upload(event.id)).status).toBe(201);
    await waitAgreed(
      n,
      event.id,
      (e) => e.montageVersion === 4 && e.round === 2 && e.phase === 'collecting',
    );
    const stale2 = await a.vote(event.id, 3, 'accept');
    expect((stale2.body as unknown as ErrorBody).error.code).toBe('stale_version');
    for (const p of people) expect((await p.vote(event.id, 4, 'accept')).status).toBe(200);
    await waitAgreed(n, event.id, (e) => e.phase === 'published' && e.round === 2);
  });

  it('a missing vote aborts at the deadline', async () => {
    const { event, people } = await eventWithPhotos(3);
    const [a, b] = people as [Person, Person, Person];
    expect((await a.vote(event.id, 3, 'accept')).status).toBe(200);
    expect((await b.vote(event.id, 3, 'accept')).status).toBe(200);
    const aborted = await waitAgreed(n, event.id, (e) => e.phase === 'aborted');
    expect(aborted.round).toBe(1);
    // Too late now.
    const late = await people[2]?.vote(event.id, 3, 'accept');
    expect(late?.status).toBe(409);
    // The aborted round's votes count no more, for those who cast them too: the next vote is on
    // a new version (they read as "You have voted" after the abort before).
    const afterwards = await a.client().get<EventJson>(`/api/events/${event.id}`);
    expect(afterwards.body.me).toMatchObject({ voted: false, submitted: true });
    expect(afterwards.body.votes.cast).toBe(0);
    expect(afterwards.body.participants.some((p) => p.voted)).toBe(false);
  });

  it('joining: a wrong invite is 403, a full event 409; a reject before voting is not a vote', async () => {
    // The organiser is a participant too: room for one guest.
    const event = await createEvent(n[0], { title: 'Small', maxParticipants: 2 });
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
    const x = new Person('x', n[1]);
    expect((await x.join(event, 'wrong-invite')).status).toBe(403);
    expect((await x.join(event, inviteOf(event))).status).toBe(200);
    expect((await x.join(event, inviteOf(event))).status).toBe(200); // the same person again
    expect((await new Person('y', n[1]).join(event, inviteOf(event))).status).toBe(409);
    expect((await x.upload(event.id)).status).toBe(201);
    const early = await x.vote(event.id, 1, 'reject');
    expect((early.body as unknown as ErrorBody).error.code).toBe('not_voting');
  });

  it('bad input gets the JSON error shape and changes nothing', async () => {
    const admin = await n[0].api();
    const malformed = await admin.fetch('/api/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title": ',
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorBody).error.code).toBe('malformed_json');
    expect((await admin.post('/api/events', { title: '' })).status).toBe(400);
    expect((await admin.post('/api/events', { title: 'x', votingSeconds: -1 })).status).toBe(400);
    // The organiser takes a place: an event of one could never have a guest.
    const alone = await admin.post<ErrorBody>('/api/events', { title: 'x', maxParticipants: 1 });
    expect(alone.status).toBe(400);
    expect(alone.body.error.message).toBe(
      'An event needs room for at least 2 people: the organiser and a guest.',
    );
    expect((await api(n[0].node.url).post('/api/events', { title: 'anon' })).status).toBe(401);
    const unknown = await admin.get<ErrorBody>('/api/events/evt_doesnotexist');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    expect((await admin.get('/api/events/not-an-id')).status).toBe(400);

    const event = await createEvent(n[0], { title: 'Input' });
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
    const p = new Person('p', n[0]);
    await p.join(event, inviteOf(event));
    const text = new FormData();
    text.append('file', new Blob([Buffer.from('not an image at all')]), 'x.jpg');
    const notImage = await p
      .client()
      .fetch(`/api/events/${event.id}/photos`, { method: 'POST', body: text });
    expect(notImage.status).toBe(415);
    const badVote = await p.client().post(`/api/events/${event.id}/votes`, { montageVersion: 'x' });
    expect(badVote.status).toBe(400);
    expect((await eventAt(n[1], event.id)).montageVersion).toBe(0);

    // Forged and unsigned peer 2PC messages: 401, nothing changes.
    const body = JSON.stringify({ txId: 'tx_forged', eventId: event.id, decision: 'commit' });
    const path = '/peer/events/tx/decision';
    const to = await nodeIdAt(n[1].node.url, cluster.key);
    const forged = signRequest('not-the-cluster-key-at-all', {
      method: 'POST',
      path,
      nodeId: 'eeeeeeeeeeeeeeee',
      url: '',
      to,
      body,
    });
    for (const headers of [{}, forged]) {
      const res = await fetch(`${n[1].node.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as ErrorBody).error.code).toBe('unauthorized');
    }
    // A signed but malformed message is 400.
    const bad = JSON.stringify({ txId: 'tx_x', eventId: event.id, decision: 'maybe' });
    const signed = signRequest(cluster.key, {
      method: 'POST',
      path,
      nodeId: 'dddddddddddddddd',
      url: '',
      to,
      body: bad,
    });
    const res = await fetch(`${n[1].node.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signed },
      body: bad,
    });
    expect(res.status).toBe(400);
    expect(PEER_HEADERS.signature in signed).toBe(true);
  });
});

describe('photo bytes sent in the prepare', () => {
  it('are verified: bytes that do not match the hash are refused, nothing is prepared', async () => {
    const event = await createEvent(n[0], { title: 'Inline bytes' });
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
    const real = await makeImage({ seed: 4242, format: 'jpeg' });
    const other = await makeImage({ seed: 4243, format: 'jpeg' });
    const hash = createHash('sha256').update(real).digest('hex');
    const path = '/peer/events/tx/prepare';
    const prepare = async (txId: string, bytes: Buffer) => {
      const body = JSON.stringify({
        txId,
        eventId: event.id,
        coordinator: { id: 'cccccccccccccccc', name: 'tester', url: 'http://127.0.0.1:9' },
        body: {
          kind: 'photo',
          photo: {
            hash,
            size: real.length,
            participantId: 'p_tester',
            participantName: 'Tester',
            siteId: 'cccccccccccccccc',
            siteName: 'tester',
            baseVersion: 0,
            round: 1,
            addedAt: Date.now(),
          },
        },
        bytes: bytes.toString('base64'),
      });
      const headers = signRequest(cluster.key, {
        method: 'POST',
        path,
        nodeId: 'cccccccccccccccc',
        url: '',
        to: await nodeIdAt(n[1].node.url, cluster.key),
        body,
      });
      const res = await fetch(`${n[1].node.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      expect(res.status).toBe(200);
      return res.json();
    };
    // Wrong bytes (and no coordinator to fetch the right ones from): no.
    expect(await prepare('tx_inline_bad', other)).toEqual({ vote: 'no', reason: 'lagging' });
    // The right bytes: yes, without any fetch (the coordinator's address leads nowhere).
    expect(await prepare('tx_inline_good', real)).toEqual({ vote: 'yes' });
    // Prepared is not committed: nothing changes until a coordinator decides (this one never
    // will; the event is left to it).
    expect((await eventAt(n[1], event.id)).montageVersion).toBe(0);
  });
});

describe('a standalone node (no cluster key) is a cluster of one', () => {
  it('creates, collects, votes and publishes on its own', async () => {
    const solo = await startNode();
    const admin = api(solo.url, await login(solo.url, 'admin', ADMIN_PASSWORD));
    const created = await admin.post<EventJson>('/api/events', { title: 'Alone' });
    expect(created.status).toBe(201);
    expect(created.body.phase).toBe('collecting');
    const join = await fetch(`${solo.url}/api/events/${created.body.id}/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ invite: inviteOf(created.body), name: 'me' }),
    });
    const cookie = (join.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    const me = api(solo.url, cookie);
    const form = new FormData();
    form.append('file', new Blob([await makeImage({ seed: 77, format: 'jpeg' })]), 'a.jpg');
    const added = await me.fetch(`/api/events/${created.body.id}/photos`, {
      method: 'POST',
      body: form,
    });
    expect(added.status).toBe(201);
    expect(
      (
        await me.post(`/api/events/${created.body.id}/votes`, {
          montageVersion: 1,
          decision: 'accept',
        })
      ).status,
    ).toBe(200);
    await waitFor(
      async () =>
        (await admin.get<EventJson>(`/api/events/${created.body.id}`)).body.phase === 'published',
      { timeoutMs: 20_000, what: 'publication' },
    );
    expect(await montageHash(api(solo.url), created.body.id)).not.toBeNull();
  });
});
