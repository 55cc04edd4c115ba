/**
 * LAN discovery: nodes started with no peer list but one cluster key find each other by their
 * announcements on 127.0.0.1 and replicate; a node of another cluster hears them and ignores
 * them. Waits on conditions, never fixed sleeps.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeImage,
  startNode,
  waitFor,
  type Picture,
} from '../helpers/node-process.js';

afterAll(async () => {
  await cleanup();
});

describe('LAN discovery', () => {
  it('three nodes with no peer list find each other and replicate', async () => {
    const key = randomBytes(24).toString('hex');
    const discoveryPort =
      20_000 + (createHash('sha256').update(key).digest()[0] ?? 0) * 100 + (process.pid % 100);
    const other = await startNode({
      env: { MOSAIC_DISCOVERY: 'on' },
      args: [
        '--cluster-key',
        randomBytes(24).toString('hex'),
        '--discovery-port',
        String(discoveryPort),
        '--name',
        'stranger',
      ],
    });
    const nodes = await Promise.all(
      ['d1', 'd2', 'd3'].map((name) =>
        startNode({
          env: { MOSAIC_DISCOVERY: 'on' },
          args: [
            '--cluster-key',
            key,
            '--discovery-port',
            String(discoveryPort),
            '--name',
            name,
            '--sync-interval-ms',
            '500',
          ],
        }),
      ),
    );
    for (const node of nodes) {
      const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
      await waitFor(
        async () => {
          const s = await client.get<{ peers: { name: string | null; state: string }[] }>(
            '/api/cluster',
          );
          const up = s.body.peers.filter((p) => p.state === 'up').map((p) => p.name);
          return up.length === 2 && !up.includes('stranger');
        },
        { timeoutMs: 20_000, what: 'discovery' },
      );
    }
    const [d1, d3] = [nodes[0], nodes[2]] as [typeof other, typeof other];
    const first = api(d1.url, await login(d1.url, 'admin', ADMIN_PASSWORD));
    const res = await first.upload<Picture>({
      file: await makeImage({ seed: 424242 }),
      fields: { title: 'found' },
    });
    expect(res.status).toBe(201);
    const last = api(d3.url, await login(d3.url, 'admin', ADMIN_PASSWORD));
    await waitFor(async () => (await last.get(`/api/pictures/${res.body.id}`)).status === 200, {
      timeoutMs: 15_000,
    });
    // The node of another cluster saw the announcements and ignored them.
    const strangerStatus = await api(
      other.url,
      await login(other.url, 'admin', ADMIN_PASSWORD),
    ).get<{ peers: unknown[] }>('/api/cluster');
    expect(strangerStatus.body.peers).toEqual([]);
  });
});
