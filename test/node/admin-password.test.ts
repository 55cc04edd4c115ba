/**
 * MOSAIC_ADMIN_PASSWORD follows the rule of every new password (at least 8 characters), for
 * `mosaic node` and `mosaic cluster`, when it is used: a site that has its accounts ignores it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { canLogin, cleanup, makeTempDir, startNode } from '../helpers/node-process.js';

afterAll(cleanup);

const TOO_SHORT = 'MOSAIC_ADMIN_PASSWORD: A password has at least 8 characters.';

describe('MOSAIC_ADMIN_PASSWORD', () => {
  it.each(['abc', ' '])('mosaic node refuses %j for a new admin account', async (password) => {
    const data = await makeTempDir();
    const run = await runCli(['node', '--data', data, '--port', '0'], {
      env: { MOSAIC_ADMIN_PASSWORD: password },
    });
    expect(run.stderr.trim()).toBe(TOO_SHORT);
    expect(run.code).toBe(1);
  });

  it('is ignored by a node whose accounts exist', async () => {
    const node = await startNode();
    await node.stop();
    const again = await startNode({
      dataDir: node.dataDir,
      env: { MOSAIC_ADMIN_PASSWORD: 'abc' },
    });
    expect(await canLogin(again.url, 'admin', 'admin-password-for-tests')).toBe(true);
    await again.stop();
  });

  it('a new node takes a sign-in as soon as it listens (the account is made meanwhile)', async () => {
    // The node listens before the admin's password hash is made; a sign-in waits for it.
    const node = await startNode();
    expect(await canLogin(node.url, 'admin', 'admin-password-for-tests')).toBe(true);
    await node.stop();
  });

  it('mosaic cluster refuses it before starting any node', async () => {
    const data = await makeTempDir('mosaic-cluster-');
    const run = await runCli(['cluster', '--nodes', '1', '--data', data], {
      env: { MOSAIC_ADMIN_PASSWORD: 'short' },
    });
    expect(run.stderr.trim()).toBe(TOO_SHORT);
    expect(run.code).toBe(1);
    expect(existsSync(join(data, 'cluster.key'))).toBe(false);
  });
});
