/**
 * Attack tier, review row 12 (metrics): /metrics names peers and folders. It used to answer
 * anyone; now an admin's session or token, or the node's metrics token (for Prometheus).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  addUser,
  api,
  login,
  startNode,
  type NodeProcess,
} from '../helpers/node-process.js';
import { rawRequest } from './http-raw.js';
import { describeEachBackend } from '../helpers/backends.js';

const METRICS_TOKEN = 'prometheus-scrape-token-0123456789';

describeEachBackend('/metrics', () => {
  let node: NodeProcess;

  beforeAll(async () => {
    node = await startNode({ env: { MOSAIC_METRICS_TOKEN: METRICS_TOKEN } });
    await addUser(node.dataDir, 'bob', 'bob-password-123');
  });

  const scrape = (headers: Record<string, string>) => fetch(`${node.url}/metrics`, { headers });

  describe('/metrics', () => {
    test('is refused to anonymous callers, in any spelling', async () => {
      const res = await scrape({});
      expect(res.status).toBe(401);
      expect(await res.text()).not.toMatch(/mosaic_/);
      for (const path of ['/%6detrics', '/metrics?x=1', '/%6D%65trics']) {
        expect((await rawRequest(node.url, 'GET', path)).status).toBe(401);
      }
    });

    test('is refused to an account that is not an admin', async () => {
      const bob = await login(node.url, 'bob', 'bob-password-123');
      expect((await scrape({ cookie: bob })).status).toBe(403);
      const token = await api(node.url, bob).post<{ token: string }>('/api/tokens', { name: 'b' });
      expect((await scrape({ authorization: `Bearer ${token.body.token}` })).status).toBe(403);
    });

    test('answers an admin, by session or token', async () => {
      const admin = await login(node.url, 'admin', ADMIN_PASSWORD);
      const bySession = await scrape({ cookie: admin });
      expect(bySession.status).toBe(200);
      expect(await bySession.text()).toMatch(/^mosaic_pictures \d+$/m);
      const token = await api(node.url, admin).post<{ token: string }>('/api/tokens', {
        name: 'a',
      });
      expect((await scrape({ authorization: `Bearer ${token.body.token}` })).status).toBe(200);
    });

    test('answers the metrics token, which opens nothing else', async () => {
      const res = await scrape({ authorization: `Bearer ${METRICS_TOKEN}` });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toMatch(/^mosaic_pictures \d+$/m);
      expect((await scrape({ authorization: `Bearer ${METRICS_TOKEN}x` })).status).toBe(401);
      for (const path of ['/api/pictures', '/api/cluster', '/api/auth/me']) {
        const other = await fetch(`${node.url}${path}`, {
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        });
        expect({ path, status: other.status }).toEqual({ path, status: 401 });
      }
    });
  });
});
