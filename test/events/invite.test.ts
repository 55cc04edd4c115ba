/**
 * A new invite link across 3 real node processes: the organiser replaces it at one site, the
 * old link is refused at the others (join and preview, in the API's error shape) while the new
 * one works there; a removed participant cannot come back with the old link; people already in
 * keep their place; a site that was stopped while the link was replaced refuses the old one once
 * it is back. Bad input is a 4xx with the JSON error shape, never a 500.
 */
import { describe, expect, it } from 'vitest';
import { addUsersAt } from '../helpers/cluster.js';
import { api, login, waitFor } from '../helpers/node-process.js';
import {
  Person,
  createEvent,
  eventAt,
  inviteOf,
  useThreeSites,
  waitAgreed,
  waitConnected,
  type EventJson,
} from './events-helpers.js';

const { n } = useThreeSites();

interface NewInvite {
  inviteUrl: string | null;
  waitingSites: string[];
  event: EventJson;
}
interface ErrorJson {
  error: { code: string; message: string };
}

const REFUSED = /no longer valid for this event/;

/** What a person with this invite sees at a node before joining (read-only). */
const preview = (url: string, id: string, invite: string) =>
  fetch(`${url}/api/events/${id}?invite=${encodeURIComponent(invite)}`);

async function expectRefused(res: Response | { status: number; body: unknown }): Promise<void> {
  const body = res instanceof Response ? ((await res.json()) as ErrorJson) : res.body;
  expect(res.status, JSON.stringify(body)).toBe(403);
  expect((body as ErrorJson).error.code).toBe('invite_invalid');
  expect((body as ErrorJson).error.message).toMatch(REFUSED);
}

describe('a new invite link, by 2PC at every site', () => {
  it('the old link is refused at every site, the new one works there, and removed people stay out', async () => {
    const event = await createEvent(n[0], { title: 'Leaked link', votingSeconds: 60 });
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
    const old = inviteOf(event);
    const ghost = new Person('Ghost', n[1]);
    const kept = new Person('Kept', n[2]);
    for (const p of [ghost, kept]) expect((await p.join(event, old)).status).toBe(200);
    const joined = await waitAgreed(n, event.id, (e) => e.participants.length === 3);
    const ghostId = joined.participants.find((p) => p.name === 'Ghost')?.id ?? '';

    const admin = await n[0].api();
    const removed = await admin.fetch(`/api/events/${event.id}/participants/${ghostId}`, {
      method: 'DELETE',
    });
    expect(removed.status).toBe(204);
    await waitAgreed(n, event.id, (e) => e.participants.length === 2);

    const res = await admin.post<NewInvite>(`/api/events/${event.id}/invite`, {});
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.waitingSites).toEqual([]);
    const fresh = new URL(res.body.inviteUrl ?? '').searchParams.get('invite') ?? '';
    expect(fresh).not.toBe(old);
    expect(res.body.event.inviteUrl).toBe(res.body.inviteUrl);

    // Every site took it before the answer: the old link is refused at n3 at once.
    await expectRefused(await new Person('Eve', n[2]).join(event, old));
    await expectRefused(await preview(n[2].node.url, event.id, old));
    // The removed participant cannot come back with the old link, at any site.
    for (const node of n) await expectRefused(await new Person('Ghost', node).join(event, old));
    await expectRefused(await ghost.join(event, old));
    // Kept joined before: still in, and shown the new link.
    const keptView = await kept.get(event.id);
    expect(keptView.me.role).toBe('participant');
    expect(inviteOf(keptView)).toBe(fresh);
    // The new link works at the other sites.
    expect((await preview(n[2].node.url, event.id, fresh)).status).toBe(200);
    const newcomer = await new Person('New', n[2]).join(event, fresh);
    expect(newcomer.status, JSON.stringify(newcomer.body)).toBe(200);
    const final = await waitAgreed(n, event.id, (e) => e.participants.length === 3);
    expect(final.participants.map((p) => p.name).sort()).toEqual(['Kept', 'New', 'admin']);
    for (const node of n) expect(inviteOf(await eventAt(node, event.id))).toBe(fresh);
  });

  it('a site stopped while the link is replaced refuses the old one once it is back', async () => {
    const event = await createEvent(n[0], { title: 'Laptop away', votingSeconds: 60 });
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
    const old = inviteOf(event);
    await n[2].node.stop();
    const admin = await n[0].api();
    const res = await admin.post<NewInvite>(`/api/events/${event.id}/invite`, {});
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.waitingSites).toEqual(['n3']);
    const fresh = new URL(res.body.inviteUrl ?? '').searchParams.get('invite') ?? '';
    // n1 and n2 refuse the old link at once; the new one works at n2.
    await expectRefused(await new Person('Eve', n[1]).join(event, old));
    expect((await new Person('Ann', n[1]).join(event, fresh)).status).toBe(200);

    await n[2].node.restart();
    // Once back, n3 hears of the new link from n1 (prepared again until it says yes).
    await waitFor(async () => (await preview(n[2].node.url, event.id, old)).status === 403, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'n3 to refuse the old link',
    });
    await expectRefused(await new Person('Eve', n[2]).join(event, old));
    expect((await new Person('Bea', n[2]).join(event, fresh)).status).toBe(200);
    await waitConnected(n);
    const final = await waitAgreed(n, event.id, (e) => e.participants.length === 3);
    expect(final.participants.map((p) => p.name).sort()).toEqual(['Ann', 'Bea', 'admin']);
  });

  it('only the organiser or an admin may replace it; bad input gets the JSON error shape', async () => {
    const event = await createEvent(n[0], { title: 'Who may', votingSeconds: 60 });
    await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
    const guest = new Person('Guest', n[1]);
    expect((await guest.join(event, inviteOf(event))).status).toBe(200);
    await addUsersAt(n[0], n[1], ['bob'], 'bob-password-123');
    const bob = api(n[1].node.url, await login(n[1].node.url, 'bob', 'bob-password-123'));
    const admin = await n[1].api();
    const path = `/api/events/${event.id}/invite`;

    const cases: [string, Promise<{ status: number; body: unknown }>, number][] = [
      ['a guest (no account)', guest.client().post(path, {}), 401],
      ['anonymous', api(n[1].node.url).post(path, {}), 401],
      ['a signed-in non-organiser', bob.post(path, {}), 403],
      ['an unknown event', admin.post('/api/events/evt_nope/invite', {}), 404],
      ['not an event id', admin.post('/api/events/nope/invite', {}), 400],
      ['an unexpected field', admin.post(path, { invite: 'mine' }), 400],
      ['a body that is not an object', admin.post(path, ['x']), 400],
    ];
    for (const [what, pending, status] of cases) {
      const res = await pending;
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(status);
      expect((res.body as ErrorJson).error.message, what).toMatch(/^[A-Z]/);
    }
    const broken = await admin.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"oops',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as ErrorJson).error.code).toBe('malformed_json');
    // None of it changed the link; the organiser (admin, at another site) may, without a body.
    expect(inviteOf(await eventAt(n[2], event.id))).toBe(inviteOf(event));
    const bare = await admin.fetch(path, { method: 'POST' });
    expect(bare.status, await bare.clone().text()).toBe(200);
    await waitFor(async () => inviteOf(await eventAt(n[0], event.id)) !== inviteOf(event), {
      what: 'the new link at n1',
    });
  });
});
