/**
 * A new invite link at one site (a cluster of one), on both metadata engines: the old link is
 * refused from then on, people already in stay, only the organiser or an admin may ask, not
 * once published. And the participant side: an invite prepared here (its decision not come
 * yet) is in effect at once, and holds up no photo.
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
import type { Site } from './core/types.js';
import type { Caller } from './event-access.js';
import { INVITE_REFUSED } from './event-words.js';
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

const alice: Caller = { principal: { username: 'alice', role: 'user' }, participantIds: new Map() };
const mallory: Caller = { principal: { username: 'mal', role: 'user' }, participantIds: new Map() };
const root: Caller = { principal: { username: 'root', role: 'admin' }, participantIds: new Map() };
const anonymous: Caller = { principal: null, participantIds: new Map() };

const inviteIn = (url: string | null): string =>
  new URL(url ?? 'http://x/?invite=none').searchParams.get('invite') ?? '';

describeEachDialect('a new invite link', (ctx) => {
  async function site() {
    const dir = await mkdtemp(join(tmpdir(), 'mosaic-invite-'));
    dirs.push(dir);
    const photos = new LocalBlobStore(join(dir, 'photos'));
    await photos.init();
    const agent = new Agent();
    const events = await createEvents({
      store: await ctx.open(),
      dataDir: dir,
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
    const service = events.service;
    const created = await service.create(
      { username: 'alice', role: 'user' },
      { title: 'Invite', votingSeconds: 60, maxParticipants: 10 },
      alice,
    );
    const id = created.id;
    await waitFor(async () => (await service.get(id, alice)).phase === 'collecting', {
      what: 'the event to be created',
    });
    return { events, service, id, photos, invite: inviteIn(created.inviteUrl) };
  }

  it('refuses the old link from then on, at join and preview; people in stay; the new one works', async () => {
    const { service, id, invite } = await site();
    const bob = await service.join(id, anonymous, { invite, name: 'Bob' });
    const asBob: Caller = { principal: null, participantIds: new Map([[id, bob.participantId]]) };

    const { view, waiting } = await service.rotateInvite(id, alice);
    expect(waiting).toEqual([]);
    const fresh = inviteIn(view.inviteUrl);
    expect(fresh).not.toBe(invite);
    expect(fresh.length).toBeGreaterThan(20);

    const refused = { status: 403, code: 'invite_invalid', message: INVITE_REFUSED };
    await expect(service.join(id, anonymous, { invite, name: 'Eve' })).rejects.toMatchObject(
      refused,
    );
    await expect(service.get(id, anonymous, invite)).rejects.toMatchObject(refused);
    // Bob joined before: he keeps his place and sees the event (and the new link).
    expect((await service.get(id, asBob)).me.role).toBe('participant');
    expect(inviteIn((await service.get(id, asBob)).inviteUrl)).toBe(fresh);

    expect((await service.get(id, anonymous, fresh)).title).toBe('Invite');
    const carol = await service.join(id, anonymous, { invite: fresh, name: 'Carol' });
    expect(carol.view.participants.map((p) => p.name)).toEqual(['alice', 'Bob', 'Carol']);

    // An admin may replace it too; the one before is refused in turn.
    const again = await service.rotateInvite(id, root);
    await expect(service.join(id, anonymous, { invite: fresh, name: 'Dan' })).rejects.toMatchObject(
      refused,
    );
    expect(inviteIn(again.view.inviteUrl)).not.toBe(fresh);
  });

  it('only the organiser or an admin may replace it, and not once the event is published', async () => {
    const { service, id, invite, photos } = await site();
    await expect(service.rotateInvite(id, mallory)).rejects.toMatchObject({ status: 403 });
    const bob = await service.join(id, anonymous, { invite, name: 'Bob' });
    const asBob: Caller = { principal: null, participantIds: new Map([[id, bob.participantId]]) };
    await expect(service.rotateInvite(id, asBob)).rejects.toMatchObject({ status: 403 });
    await expect(service.rotateInvite('evt_nope', alice)).rejects.toMatchObject({ status: 404 });
    // Still the same link: nothing changed.
    expect(inviteIn((await service.get(id, alice)).inviteUrl)).toBe(invite);

    const staged = await photos.stage(Readable.from([await makeImage({ seed: 3 })]), 1 << 20);
    await service.addPhoto(id, alice, staged);
    await service.vote(id, alice, { montageVersion: 1, decision: 'accept' });
    await waitFor(async () => (await service.get(id, alice)).phase === 'published', {
      what: 'the event to be published',
    });
    const late = await service.rotateInvite(id, alice).catch((e: unknown) => e);
    expect(late).toMatchObject({ status: 409 });
    expect((late as Error).message).toMatch(/published/);
  });

  it('an invite prepared here (no decision yet) is in effect at once and holds up no photo', async () => {
    const { events, service, id, invite, photos } = await site();
    // A coordinator elsewhere (never reachable here): the transaction stays prepared.
    const elsewhere: Site = { id: 'site0002', name: 'B', url: 'http://127.0.0.1:9' };
    const vote = await events.participant.prepare({
      txId: 'tx_invite_1',
      eventId: id,
      coordinator: elsewhere,
      body: { kind: 'invite', invite: { invite: 'newer', generation: 1, issuedAt: 1 } },
    });
    expect(vote).toEqual({ vote: 'yes' });
    await expect(service.join(id, anonymous, { invite, name: 'Eve' })).rejects.toMatchObject({
      status: 403,
    });
    await service.join(id, anonymous, { invite: 'newer', name: 'Bob' });
    // An older invite arriving late changes nothing.
    await events.participant.prepare({
      txId: 'tx_invite_0',
      eventId: id,
      coordinator: elsewhere,
      body: { kind: 'invite', invite: { invite: 'zzz', generation: 1, issuedAt: 0 } },
    });
    await events.participant.prepare({
      txId: 'tx_invite_00',
      eventId: id,
      coordinator: elsewhere,
      body: { kind: 'invite', invite: { invite: 'aaa', generation: 1, issuedAt: 0 } },
    });
    await expect(
      service.join(id, anonymous, { invite: 'newer', name: 'Eve' }),
    ).rejects.toMatchObject({ status: 403 });
    await service.join(id, anonymous, { invite: 'zzz', name: 'Carol' });
    // The prepared invites do not make the site "busy" for a photo.
    const staged = await photos.stage(Readable.from([await makeImage({ seed: 4 })]), 1 << 20);
    const view = await service.addPhoto(id, alice, staged);
    expect(view.montageVersion).toBe(1);
  });
});
