/**
 * `mosaic user password NAME` on a node's data: the way back for a forgotten password. The new
 * password signs in, the old one no longer does, and the account's sessions end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { addUser, cleanup, login, startNode, type NodeProcess } from '../helpers/node-process.js';

let node: NodeProcess;

beforeAll(async () => {
  node = await startNode();
  await addUser(node.dataDir, 'dora', 'dora-password');
});
afterAll(cleanup);

const password = (name: string, typed: string) =>
  runCli(['user', 'password', name, '--data', node.dataDir, '--password-stdin'], {
    stdin: `${typed}\n`,
  });

const signIn = (username: string, pass: string) =>
  fetch(`${node.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: pass }),
  }).then((res) => res.status);

describe('mosaic user password', () => {
  it('sets the password of a running node’s account and ends its sessions', async () => {
    const session = await login(node.url, 'dora', 'dora-password');
    const me = () => fetch(`${node.url}/api/auth/me`, { headers: { cookie: session } });
    expect((await me()).status).toBe(200);

    // Names ignore case, as at sign-in.
    const run = await password('Dora', 'a-new-password');
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('Password of dora set');
    expect(run.code).toBe(0);

    expect(await signIn('dora', 'dora-password')).toBe(401);
    expect(await signIn('dora', 'a-new-password')).toBe(200);
    expect((await me()).status).toBe(401);
  });

  it('refuses an unknown account and a short password, changing nothing', async () => {
    const unknown = await password('nobody', 'long-enough-password');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('No account named nobody.');

    const short = await password('dora', 'abc');
    expect(short.code).toBe(1);
    expect(short.stderr.trim()).toBe('A password has at least 8 characters.');
    expect(await signIn('dora', 'a-new-password')).toBe(200);
  });
});
