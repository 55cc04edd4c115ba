/**
 * An event created at a node that has just started includes every site. A node listens before
 * its peer links start (it sweeps the trash first, and a scaled site checks its store's bytes),
 * and the sites of an event used to be those links only: an event created in that moment
 * included its own site alone, published there by its own vote and unknown at the others (the
 * fault tier, seed 51929635). The peers it remembers and the ones it is configured with count
 * too now.
 */
import { afterAll, expect, test } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  waitFor,
  type ApiResponse,
} from '../helpers/node-process.js';
import { eventAt, waitConnected, type EventJson } from './events-helpers.js';

afterAll(async () => {
  await cleanup();
});

test('an event created right after a restart includes every site', async () => {
  const cluster = new TestCluster({ syncIntervalMs: 500 });
  const [a, b] = await cluster.startAll(2);
  if (!a || !b) throw new Error('the cluster did not start');
  await waitConnected([a, b]);
  // Signed in before the restarts (sessions survive them), so each request goes out at once.
  const atA = api(a.node.url, await login(a.node.url, 'admin', ADMIN_PASSWORD));
  for (let round = 0; round < 3; round++) {
    // The first request the restarted node accepts: asked again and again from its spawn on.
    await a.node.kill();
    const restarted = a.node.restart();
    let created: ApiResponse<EventJson> | null = null;
    while (created === null) {
      created = await atA
        .post<EventJson>('/api/events', { title: `Right after a restart ${round}` })
        .catch(() => null);
      if (created === null) await new Promise((r) => setTimeout(r, 2));
    }
    await restarted;
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.sites.map((s) => s.name).sort()).toEqual([a.name, b.name].sort());
    await waitFor(async () => (await eventAt(b, created.body.id).catch(() => null)) !== null, {
      timeoutMs: 20_000,
      what: 'the event at the other site',
    });
  }
});

test('a node given one list of every node, itself included, creates events with the others', async () => {
  const cluster = new TestCluster({ syncIntervalMs: 500 });
  await cluster.reserve(2);
  const a = await cluster.start(0, [0, 1]);
  const b = await cluster.start(1, [0, 1]);
  await waitConnected([a, b]);
  // Its own URL in the list is not a site to wait for (it waited 10 s and refused, once).
  const created = await (await a.api()).post<EventJson>('/api/events', { title: 'One list' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.sites.map((s) => s.name).sort()).toEqual([a.name, b.name].sort());
});
