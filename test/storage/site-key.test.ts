/**
 * Every process of a site needs the cluster key of the others (it signs every peer request):
 * a process started with another key beside a live leader is refused with a sentence, instead
 * of failing, unseen, the peer requests the balancer sends it. Once the site is stopped, its
 * processes start again with a new key (the key changed on purpose).
 */
import { expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newClusterKey } from '../helpers/cluster.js';
import { ADMIN_PASSWORD, makeTempDir, startNode, waitFor } from '../helpers/node-process.js';
import { siteEnv, useSharedServers } from '../helpers/shared-servers.js';

const servers = useSharedServers();

const LEADS = 'this process now leads the site';

test('a process with another cluster key than the leader is refused; a restarted site takes a new key', async () => {
  const env = { ...(await siteEnv(servers(), 'site-key')), MOSAIC_ADMIN_PASSWORD: ADMIN_PASSWORD };
  const [key, other] = [newClusterKey(), newClusterKey()];
  const args = (k: string) => ['--port', '0', '--cluster-key', k, '--discovery', 'off'];
  const leader = await startNode({ args: args(key), env });
  await waitFor(() => leader.logs.some((l) => l.msg === LEADS));
  const refused = `The process leading this site (pid ${leader.process.pid} on `;
  const same =
    'uses another cluster key: every process of a site needs the same MOSAIC_CLUSTER_KEY ' +
    '(--cluster-key). To change it, stop every process of the site, then start them all with ' +
    'the new one.';
  for (const keyArgs of [['--cluster-key', other], []]) {
    const run = await runCli(
      ['node', '--data', await makeTempDir(), '--port', '0', '--discovery', 'off', ...keyArgs],
      { env },
    );
    expect(run.stderr.trim()).toContain(refused);
    expect(run.stderr.trim()).toContain(same);
    expect(run.code).toBe(1);
  }
  // The same key: one more process of the site.
  const second = await startNode({ args: args(key), env });
  await second.stop();
  await leader.stop();
  // Every process stopped: the site starts again with another key.
  const renewed = await startNode({ args: args(other), env });
  await waitFor(() => renewed.logs.some((l) => l.msg === LEADS));
  await renewed.stop();
});
