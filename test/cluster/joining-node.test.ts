/**
 * A new, empty node joining a cluster creates its own `admin` account at its first start (it
 * cannot know yet that the cluster has one). That creation must not replace the cluster's: the
 * admin password the cluster had (its first node's, or one its admin chose since) opens every
 * node afterwards, the new one included, and the new node's own opens none. Before, the new
 * node's later put won everywhere: the cluster's admin was locked out by adding a node.
 */
import { afterAll, expect, test } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  canLogin,
  cleanup,
  login,
  startNode,
  waitFor,
  makeTempDir,
} from '../helpers/node-process.js';

afterAll(async () => {
  await cleanup();
});

test(
  'a joining node does not replace the cluster admin’s password',
  { timeout: 90_000 },
  async () => {
    const cluster = new TestCluster();
    await cluster.reserve(1);
    const a = (await cluster.start(0)).node;

    // The new node: empty, its own admin password, the first node as its peer.
    const b = await startNode({
      dataDir: await makeTempDir('mosaic-joining-'),
      args: [
        '--name',
        'n2',
        '--cluster-key',
        cluster.key,
        '--peer',
        a.url,
        '--sync-interval-ms',
        '500',
      ],
      env: { MOSAIC_ADMIN_PASSWORD: 'the-new-node-own-password' },
    });
    // Once the new node holds the cluster's account, the first node's admin password opens both.
    await waitFor(() => canLogin(b.url, 'admin', ADMIN_PASSWORD), {
      timeoutMs: 30_000,
      what: 'the new node to take the cluster’s admin password',
    });
    expect(await canLogin(a.url, 'admin', ADMIN_PASSWORD)).toBe(true);
    expect(await canLogin(a.url, 'admin', 'the-new-node-own-password')).toBe(false);
    expect(await canLogin(b.url, 'admin', 'the-new-node-own-password')).toBe(false);

    // The admin's own choice since holds at both too.
    const client = api(a.url, await login(a.url, 'admin', ADMIN_PASSWORD));
    const changed = await client.post('/api/auth/password', {
      oldPassword: ADMIN_PASSWORD,
      newPassword: 'chosen-by-the-admin',
    });
    expect(changed.status).toBe(204);
    await waitFor(() => canLogin(b.url, 'admin', 'chosen-by-the-admin'), {
      timeoutMs: 30_000,
      what: 'the new node to take the admin’s new password',
    });
    expect(await canLogin(a.url, 'admin', 'chosen-by-the-admin')).toBe(true);
    expect(await canLogin(a.url, 'admin', ADMIN_PASSWORD)).toBe(false);
  },
);
