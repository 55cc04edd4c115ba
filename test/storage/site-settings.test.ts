/**
 * Every process of a site needs the cluster key of the others (it signs every peer request)
 * and their bucket (else its uploads land where the others never look, and they repair those
 * pictures as missing their bytes): a process started with another beside a live leader is
 * refused with a sentence. Once the site is stopped, its processes start again with a new key
 * or bucket (a setting changed on purpose).
 */
import { expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newClusterKey } from '../helpers/cluster.js';
import { ADMIN_PASSWORD, makeTempDir, startNode, waitFor } from '../helpers/node-process.js';
import { siteEnv, useSharedServers } from '../helpers/shared-servers.js';

const servers = useSharedServers();

const LEADS = 'this process now leads the site';
const CHANGE =
  'To change it, stop every process of the site, then start them all with the new one.';

test('a process with another cluster key or bucket than the leader is refused; a restarted site takes new ones', async () => {
  const env: Record<string, string> = {
    ...(await siteEnv(servers(), 'site-a')),
    MOSAIC_ADMIN_PASSWORD: ADMIN_PASSWORD,
  };
  const otherBucket = (env['MOSAIC_BLOBS'] ?? '').replace('s3://site-a?', 's3://site-b?');
  const [key, other] = [newClusterKey(), newClusterKey()];
  const args = (k: string) => ['--port', '0', '--cluster-key', k, '--discovery', 'off'];
  const leader = await startNode({ args: args(key), env });
  await waitFor(() => leader.logs.some((l) => l.msg === LEADS));
  const byLeader = `The process leading this site (pid ${leader.process.pid} on `;
  const refusals: [string[], Record<string, string>, string][] = [
    [
      ['--cluster-key', other],
      env,
      'uses another cluster key: every process of a site needs the same MOSAIC_CLUSTER_KEY ' +
        `(--cluster-key). ${CHANGE}`,
    ],
    [[], env, 'uses another cluster key'],
    [
      ['--cluster-key', key],
      { ...env, MOSAIC_BLOBS: otherBucket },
      'keeps the bytes in s3://site-a/, this one in s3://site-b/: every process of a site ' +
        `needs the same bucket (MOSAIC_BLOBS, --blobs). ${CHANGE}`,
    ],
  ];
  for (const [extra, runEnv, says] of refusals) {
    const run = await runCli(
      ['node', '--data', await makeTempDir(), '--port', '0', '--discovery', 'off', ...extra],
      { env: runEnv },
    );
    expect(run.stderr.trim()).toContain(byLeader);
    expect(run.stderr.trim()).toContain(says);
    expect(run.code).toBe(1);
  }
  // The same settings: one more process of the site.
  const second = await startNode({ args: args(key), env });
  await second.stop();
  await leader.stop();
  // Every process stopped: the site starts again with another key and bucket.
  const renewed = await startNode({
    args: args(other),
    env: { ...env, MOSAIC_BLOBS: otherBucket },
  });
  await waitFor(() => renewed.logs.some((l) => l.msg === LEADS));
  await renewed.stop();
});
