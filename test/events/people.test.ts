/**
 * Group photo events as real groups use them (issue 14), across 3 real node processes: the
 * organiser takes part, a guest who loses their cookie comes back with their personal link at
 * another site, an event includes every configured site, and an accept acknowledged before
 * the deadline counts even when the master was down while it travelled.
 */
import { describe, expect, it } from 'vitest';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { makeImage, toApiResponse, waitFor } from '../helpers/node-process.js';
import {
  Person,
  createEvent,
  eventAt,
  inviteOf,
  montageHash,
  waitAgreed,
  useThreeSites,
  waitConnected,
  type EventJson,
} from './events-helpers.js';

const { n } = useThreeSites();

async function organiserUpload(node: ClusterNode, eventId: string, seed: number) {
  const form = new FormData();
  form.append('file', new Blob([await makeImage({ seed, format: 'jpeg' })]), 'o.jpg');
  const client = await node.api();
  return toApiResponse<EventJson>(
    await client.fetch(`/api/events/${eventId}/photos`, { method: 'POST', body: form }),
  );
}

describe('events for real groups', () => {
  it('the organiser is a participant: uploads, sees the montage and votes', async () => {
    const event = await createEvent(n[0], { title: 'Organiser only', votingSeconds: 30 });
    expect(event.me.role).toBe('organiser');
    expect(event.participants.map((p) => p.name)).toEqual(['admin']);
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');

    const upload = await organiserUpload(n[0], event.id, 9001);
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    expect(upload.body.me.submitted).toBe(true);
    const admin = await n[0].api();
    expect(await montageHash(admin, event.id)).not.toBeNull();

    const vote = await admin.post<EventJson>(`/api/events/${event.id}/votes`, {
      montageVersion: 1,
      decision: 'accept',
    });
    expect(vote.status, JSON.stringify(vote.body)).toBe(200);
    // The only submitter accepted: published everywhere.
    await waitAgreed(n, event.id, (e) => e.phase === 'published');
  });

  it('a guest who loses their cookie comes back with their personal link, at another site', async () => {
    const event = await createEvent(n[0], { title: 'Lost cookie', votingSeconds: 60 });
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
    // The invite alone shows the event's title to a person who has not joined yet.
    const preview = await fetch(
      `${n[2].node.url}/api/events/${event.id}?invite=${inviteOf(event)}`,
    );
    expect(preview.status).toBe(200);
    expect(((await preview.json()) as EventJson).title).toBe('Lost cookie');

    const ann = new Person('Ann', n[2]);
    const joined = await ann.join(event, inviteOf(event));
    expect(joined.status).toBe(200);
    const recoveryUrl = (joined.body as EventJson & { recoveryUrl?: string }).recoveryUrl;
    expect(recoveryUrl).toMatch(new RegExp(`/e/${event.id}\\?recover=`));
    const code = new URL(recoveryUrl ?? '').searchParams.get('recover') ?? '';
    expect((await ann.upload(event.id)).status).toBe(201);
    await waitAgreed(n, event.id, (e) => e.montageVersion === 1);

    // Ann's phone is gone. Joining again under the same name is a different person...
    const stranger = new Person('Ann', n[2]);
    const again = await stranger.join(event, inviteOf(event));
    expect(again.status).toBe(200);
    expect(again.body.me.submitted).toBe(false);
    expect(again.body.participants.filter((p) => p.name === 'Ann')).toHaveLength(2);

    // ...while her personal link restores her, on a new device at another site.
    const newPhone = await waitFor(
      async () => {
        const res = await fetch(`${n[1].node.url}/api/events/${event.id}/recover`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code }),
        });
        return res.status === 200 ? res : false;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the join notice at n2' },
    );
    const cookie = (newPhone.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    const restored = (await newPhone.json()) as EventJson;
    expect(restored.me).toMatchObject({ role: 'participant', name: 'Ann', submitted: true });

    const wrong = await fetch(`${n[1].node.url}/api/events/${event.id}/recover`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'not-a-code' }),
    });
    expect(wrong.status).toBe(404);

    // Ann votes from the new device at n2; the organiser uploaded nothing, so Ann alone decides.
    const vote = await fetch(`${n[1].node.url}/api/events/${event.id}/votes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ montageVersion: 1, decision: 'accept' }),
    });
    expect(vote.status, await vote.clone().text()).toBe(200);
    await waitAgreed(n, event.id, (e) => e.phase === 'published');
  });

  it('an accept acknowledged before the deadline counts though the master was down meanwhile', async () => {
    const event = await createEvent(n[0], { title: 'Late vote', votingSeconds: 8 });
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
    const a = new Person('A', n[1]);
    const b = new Person('B', n[2]);
    for (const p of [a, b]) {
      expect((await p.join(event, inviteOf(event))).status).toBe(200);
      expect((await p.upload(event.id)).status).toBe(201);
    }
    await waitAgreed(n, event.id, (e) => e.montageVersion === 2);

    expect((await a.vote(event.id, 2, 'accept')).status).toBe(200);
    await waitAgreed(n, event.id, (e) => e.phase === 'voting');
    await n[0].node.kill(); // the master, SIGKILL
    const accepted = await b.vote(event.id, 2, 'accept');
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    // B's vote now waits in n3's outbox, which backs off while the master is down; the
    // master comes back shortly before the deadline.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    await n[0].node.restart();
    const final = await waitAgreed(n, event.id, (e) => e.phase === 'published', 60_000);
    expect(final.round).toBe(1);
  });

  it('joining and recovering refuse bad input with a sentence', async () => {
    const event = await createEvent(n[0], { title: 'Words' });
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
    const res = await fetch(`${n[0].node.url}/api/events/${event.id}/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ invite: inviteOf(event), name: '' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'A name is required.',
    );
    const admin = await n[0].api();
    const untitled = await admin.post<{ error: { message: string } }>('/api/events', {
      title: '',
    });
    expect(untitled.status).toBe(400);
    expect(untitled.body.error.message).not.toMatch(/Invalid body/);
  });
});

describe('the organiser changes the group, by 2PC at every site', () => {
  it('removes a participant (their photos leave the next montage) and deletes the event, with a site down then back', async () => {
    const event = await createEvent(n[0], { title: 'Tidy up', votingSeconds: 60 });
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
    const ghost = new Person('Ghost', n[1]);
    const kept = new Person('Kept', n[2]);
    for (const p of [ghost, kept]) {
      expect((await p.join(event, inviteOf(event))).status).toBe(200);
      expect((await p.upload(event.id)).status).toBe(201);
    }
    const two = await waitAgreed(n, event.id, (e) => e.montageVersion === 2);
    const ghostId = two.participants.find((p) => p.name === 'Ghost')?.id ?? '';
    const admin = await n[0].api();

    // Only the organiser may remove: a guest (no account) is told to sign in.
    const byGuest = await kept
      .client()
      .fetch(`/api/events/${event.id}/participants/${ghostId}`, { method: 'DELETE' });
    expect(byGuest.status).toBe(401);

    // A site that is down cannot agree: the removal is refused with the reason, nothing changes.
    await n[2].node.kill();
    const refused = await admin.fetch(`/api/events/${event.id}/participants/${ghostId}`, {
      method: 'DELETE',
    });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /n3 did not answer/,
    );
    await n[2].node.restart();
    await waitConnected(n);

    const removed = await admin.fetch(`/api/events/${event.id}/participants/${ghostId}`, {
      method: 'DELETE',
    });
    expect(removed.status, await removed.clone().text()).toBe(204);
    const three = await waitAgreed(n, event.id, (e) => e.montageVersion === 3);
    expect(three.photos.map((p) => p.participant)).toEqual(['Kept']);
    expect(three.participants.map((p) => p.name)).not.toContain('Ghost');
    // Montage 3 is the same everywhere and is not montage 2.
    const hashes = await Promise.all(
      n.map(async (node) => montageHash(await node.api(), event.id)),
    );
    expect(new Set(hashes).size).toBe(1);
    expect(hashes[0]).not.toBe(await montageHash(admin, event.id, 2));
    // The removed guest is a visitor now: no more photos.
    expect((await ghost.upload(event.id)).status).toBe(403);

    const deleted = await admin.fetch(`/api/events/${event.id}`, { method: 'DELETE' });
    expect(deleted.status, await deleted.clone().text()).toBe(204);
    for (const node of n) {
      await waitFor(
        async () => (await (await node.api()).get(`/api/events/${event.id}`)).status === 404,
        { timeoutMs: 20_000, intervalMs: 100, what: `event deleted at ${node.name}` },
      );
    }
  });
});

describe('every site is in', () => {
  it('the organiser is counted at every site as soon as the event is created', async () => {
    // Their notice used to wait in the outbox's back-off (refused while the event did not exist
    // there yet): a guest joining at another site meanwhile could fill the organiser's place.
    for (let i = 0; i < 5; i++) {
      const event = await createEvent(n[0], { title: `Counted ${i}`, maxParticipants: 2 });
      expect(event.phase).toBe('collecting');
      for (const node of [n[1], n[2]]) {
        const there = await eventAt(node, event.id);
        expect(
          there.participants.map((p) => p.name),
          node.name,
        ).toEqual(['admin']);
      }
    }
  });

  it('an event created right after the cluster starts includes every configured site', async () => {
    const fresh = new TestCluster({ syncIntervalMs: 5_000 });
    await fresh.reserve(3);
    // Start the three nodes together and create at once: the first contacts may not have
    // happened yet; creation waits for them rather than leaving a site out.
    const nodes = await Promise.all([0, 1, 2].map((i) => fresh.start(i)));
    const event = await createEvent(nodes[0] as ClusterNode, { title: 'Right away' });
    await waitAgreed(nodes, event.id, (e) => e.phase === 'collecting');
    for (const node of nodes) expect((await eventAt(node, event.id)).title).toBe('Right away');
  });
});
