/**
 * Crash at every named point of the two-phase commit (a real abrupt exit via MOSAIC_FAULTS),
 * restart, and check the invariants: every site ends in the same state (phase, round, version,
 * the same photos in the same order), never published at one site and aborted at another, no
 * photo at some sites only, no accepted vote lost, nothing published without every submitter's
 * accept. Then a site cut off during publication gets the decision once it is back.
 * One 3-node cluster serves every case; each case has its own event.
 */
import { describe, expect, it } from 'vitest';
import { setFaults, type ClusterNode } from '../helpers/cluster.js';
import { waitFor } from '../helpers/node-process.js';
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

async function setup(): Promise<{ event: EventJson; people: [Person, Person, Person] }> {
  const event = await createEvent(n[0], { title: 'Crashes', votingSeconds: 120 });
  await waitAgreed(n, event.id, (e) => e.phase === 'collecting');
  const people = n.map((node, i) => new Person(`p${i + 1}`, node)) as [Person, Person, Person];
  for (const p of people) expect((await p.join(event, inviteOf(event))).status).toBe(200);
  for (const p of people) expect((await p.upload(event.id)).status).toBe(201);
  await waitAgreed(n, event.id, (e) => e.montageVersion === 3);
  return { event, people };
}

const exited = (node: ClusterNode): boolean =>
  node.node.process.exitCode !== null || node.node.process.signalCode !== null;

/** Arms the crash point on `node`, runs `action` (which makes it crash), restarts the node. */
async function crashAndRestart(node: ClusterNode, point: string, action: () => Promise<unknown>) {
  await setFaults(node, { crashAt: [point] });
  const result = await action().catch((error: unknown) => error);
  await waitFor(() => exited(node), {
    timeoutMs: 20_000,
    what: `${node.name} to crash at ${point}`,
  });
  expect(node.node.process.signalCode).toBe('SIGKILL');
  await setFaults(node, {});
  await node.node.restart();
  return result;
}

/** The invariants, once every site agrees. */
async function checkInvariants(
  id: string,
  people: readonly Person[],
  expectation: (e: EventJson) => boolean,
) {
  const agreed = await waitAgreed(n, id, expectation);
  const views = await Promise.all(n.map((node) => eventAt(node, id)));
  for (const v of views) expect(v.photos.map((p) => p.id)).toEqual(agreed.photos.map((p) => p.id));
  // The master never publishes without every submitter's accept.
  const master = views[0] as EventJson;
  if (master.phase === 'published') expect(master.votes.cast).toBe(master.votes.needed);
  // Same montage bytes everywhere for the current version.
  const hashes = await Promise.all(people.map((p) => montageHash(p.client(), id)));
  expect(new Set(hashes).size).toBe(1);
  expect(hashes[0]).not.toBeNull();
  return agreed;
}

const COORDINATOR_POINTS = [
  'coordinator.after-log-prepare',
  'coordinator.after-votes',
  'coordinator.after-log-decision',
  'coordinator.after-send-decision-some',
] as const;
const PARTICIPANT_POINTS = [
  'participant.after-log-prepared',
  'participant.after-log-commit',
] as const;

describe('photo transaction (coordinated by n2) survives a crash at', () => {
  it.each([...COORDINATOR_POINTS, ...PARTICIPANT_POINTS])('%s', async (point) => {
    const { event, people } = await setup();
    const victim = point.startsWith('coordinator') ? n[1] : n[2];
    await crashAndRestart(victim, point, () => people[1].upload(event.id));
    const after = await checkInvariants(event.id, people, (e) => e.phase === 'collecting');
    // Logged decisions are followed through; undecided photos are aborted everywhere.
    if (point === 'coordinator.after-log-prepare' || point === 'coordinator.after-votes') {
      expect(after.montageVersion).toBe(3);
    }
    if (
      point.endsWith('after-log-decision') ||
      point.endsWith('some') ||
      point.endsWith('commit')
    ) {
      expect(after.montageVersion).toBe(4);
    }
    // Nothing is left blocked: the next photo commits everywhere.
    expect((await people[1].upload(event.id)).status).toBe(201);
    await checkInvariants(event.id, people, (e) => e.montageVersion === after.montageVersion + 1);
  });
});

describe('publication (coordinated by the master n1) survives a crash at', () => {
  it.each([...COORDINATOR_POINTS, ...PARTICIPANT_POINTS])('%s', async (point) => {
    const { event, people } = await setup();
    expect((await people[0].vote(event.id, 3, 'accept')).status).toBe(200);
    expect((await people[2].vote(event.id, 3, 'accept')).status).toBe(200);
    await waitAgreed(n, event.id, (e) => e.phase === 'voting');
    const victim = point.startsWith('coordinator') ? n[0] : n[2];
    await crashAndRestart(victim, point, () => people[1].vote(event.id, 3, 'accept'));
    // Every accept survived (votes are durable before they are acknowledged): published.
    await checkInvariants(event.id, people, (e) => e.phase === 'published');
  });
});

describe('message loss', () => {
  it('with a third of the peer messages of every site dropped, the event still ends the same everywhere', async () => {
    const { event, people } = await setup();
    await Promise.all(n.map((node) => setFaults(node, { dropPeerMessages: 0.3, delayPeerMs: 5 })));
    // An upload may be refused when its prepare messages are lost; the person tries again.
    for (const p of people) {
      await waitFor(async () => (await p.upload(event.id)).status === 201, {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: `${p.name}'s upload to commit`,
      });
    }
    await checkInvariants(event.id, people, (e) => e.montageVersion === 6);
    for (const p of people) expect((await p.vote(event.id, 6, 'accept')).status).toBe(200);
    await Promise.all(n.map((node) => setFaults(node, {})));
    await checkInvariants(event.id, people, (e) => e.phase === 'published');
  });
});

describe('partitions', () => {
  it('a site cut off during publication gets the decision after it comes back', async () => {
    const { event, people } = await setup();
    expect((await people[2].vote(event.id, 3, 'accept')).status).toBe(200);
    expect((await people[0].vote(event.id, 3, 'accept')).status).toBe(200);
    // n3's vote has reached the master before n3 is cut off.
    await waitFor(async () => (await eventAt(n[0], event.id)).votes.cast === 2, {
      timeoutMs: 20_000,
      what: 'the master to hold two votes',
    });
    await cluster.partition([n[0], n[1]], [n[2]]);
    expect((await people[1].vote(event.id, 3, 'accept')).status).toBe(200);
    // The publication cannot finish without n3 (2PC blocks rather than diverges).
    await waitFor(async () => (await eventAt(n[0], event.id)).votes.cast === 3, {
      timeoutMs: 20_000,
    });
    expect((await eventAt(n[2], event.id)).phase).toBe('voting');
    await cluster.heal();
    await checkInvariants(event.id, people, (e) => e.phase === 'published');
  });

  it('a cut-off site refuses photos it cannot prepare; after healing all agree', async () => {
    const { event, people } = await setup();
    await cluster.partition([n[0], n[1]], [n[2]]);
    const refused = await people[2].upload(event.id);
    expect(refused.status).toBe(409);
    await cluster.heal();
    await checkInvariants(event.id, people, (e) => e.montageVersion === 3);
    expect((await people[2].upload(event.id)).status).toBe(201);
    await checkInvariants(event.id, people, (e) => e.montageVersion === 4);
  });
});
