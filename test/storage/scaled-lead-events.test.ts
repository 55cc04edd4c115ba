/**
 * The sites of an event made at a scaled site: every site, whichever process is asked and when.
 *
 * An event created at a process of a scaled site the moment it takes the lead includes every
 * site. The lead's work starts its peer links only after checking the store's bytes and sweeping
 * the trash; until then the new leader counted its links alone (none yet), so an event created
 * in that window included its own site only: published there by its own vote, never heard of
 * at the other sites (the scaled fault tier, seed 214266755). Now the peers table counts too.
 *
 * A process that does not lead knew the peers from the table alone, so just after the site
 * started, an event created there left out a configured site the leader had not reached yet
 * (seed 322353309). Now its configured peers count as not yet identified: creation waits for
 * them, and refuses with 503 naming them if they stay out of reach, as the leader does.
 */
import { expect, test } from 'vitest';
import { freePort, newClusterKey } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  login,
  makeImage,
  startNode,
  waitFor,
} from '../helpers/node-process.js';
import type { EventJson } from '../events/events-helpers.js';
import { siteEnv, startSite, useSharedServers } from '../helpers/shared-servers.js';

const servers = useSharedServers();
const LEADS = 'this process now leads the site';

test('an event created as a process takes the lead includes every site', async () => {
  const key = newClusterKey();
  const common = ['--cluster-key', key, '--sync-interval-ms', '500', '--discovery', 'off'];
  const single = await startNode({ args: ['--name', 'single', ...common] });
  const env = await siteEnv(servers(), 'lead-events');
  const site = await startSite(2, env, ['--name', 'scaled', '--peer', single.url, ...common]);
  const cookie = await login(site[0]?.url ?? '', 'admin', ADMIN_PASSWORD);
  // A few pictures, so that the new leader's check of the store's bytes takes a moment.
  const first = api(site[0]?.url ?? '', cookie);
  for (let i = 0; i < 5; i++) {
    const file = await makeImage({ width: 64, height: 48, format: 'jpeg', seed: 900 + i });
    expect((await first.upload({ file, fields: { title: `p${i}` } })).status).toBe(201);
  }
  // Both sites know each other (the peers table has the single site).
  const b = api(single.url, await login(single.url, 'admin', ADMIN_PASSWORD));
  await waitFor(
    async () => {
      const res = await b.get<{ peers: { name: string | null; state: string }[] }>('/api/cluster');
      return res.body.peers.some((p) => p.name === 'scaled' && p.state === 'up');
    },
    { timeoutMs: 20_000, what: 'the single site to reach the scaled one' },
  );
  const leader = await waitFor(() => site.find((p) => p.logs.some((l) => l.msg === LEADS)), {
    timeoutMs: 10_000,
    what: 'a process to lead the site',
  });
  const next = site.find((p) => p !== leader);
  if (!next) throw new Error('no second process');
  await leader.kill();
  await waitFor(() => next.logs.some((l) => l.msg === LEADS), {
    timeoutMs: 10_000,
    intervalMs: 5,
    what: 'the other process to take the lead',
  });
  const created = await api(next.url, cookie).post<EventJson>('/api/events', {
    title: 'At the hand-over',
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.sites.map((s) => s.name).sort()).toEqual(['scaled', 'single']);
  // And the other site holds it.
  const atB = await waitFor(
    async () => {
      const res = await b.get<EventJson>(`/api/events/${created.body.id}`);
      return res.status === 200 ? res.body : false;
    },
    { timeoutMs: 20_000, what: 'the event at the single site' },
  );
  expect(atB.title).toBe('At the hand-over');
});

test('a process that does not lead waits for a configured site the leader has not reached', async () => {
  const key = newClusterKey();
  const common = ['--cluster-key', key, '--sync-interval-ms', '500', '--discovery', 'off'];
  // Site C is configured but not started yet.
  const cPort = await freePort();
  const cUrl = `http://127.0.0.1:${cPort}`;
  const env = await siteEnv(servers(), 'configured-peer');
  const site = await startSite(2, env, ['--name', 'scaled', '--peer', cUrl, ...common]);
  const leader = await waitFor(() => site.find((p) => p.logs.some((l) => l.msg === LEADS)), {
    timeoutMs: 10_000,
    what: 'a process to lead the site',
  });
  const other = site.find((p) => p !== leader);
  if (!other) throw new Error('no second process');
  const atOther = api(other.url, await login(other.url, 'admin', ADMIN_PASSWORD));

  const refused = await atOther.post<{ error: { code: string; message: string } }>('/api/events', {
    title: 'Without C',
  });
  expect(refused.status, JSON.stringify(refused.body)).toBe(503);
  expect(refused.body.error.message).toContain(cUrl);

  const c = await startNode({ args: ['--port', String(cPort), '--name', 'c', ...common] });
  const made = await waitFor(
    async () => {
      const res = await atOther.post<EventJson>('/api/events', { title: 'With C' });
      return res.status === 201 ? res.body : false;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'the event to be created once C is reached' },
  );
  expect(made.sites.map((s) => s.name).sort()).toEqual(['c', 'scaled']);
  const atC = api(c.url, await login(c.url, 'admin', ADMIN_PASSWORD));
  await waitFor(async () => (await atC.get(`/api/events/${made.id}`)).status === 200, {
    timeoutMs: 20_000,
    what: 'the event at site C',
  });
});
