/**
 * What the CLI says in small places: a name taken by an account whose name differs only by
 * case names that account; help texts give each default and variable once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanup, makeTempDir, startNode } from '../helpers/node-process.js';

afterAll(cleanup);

describe('mosaic CLI messages', () => {
  it('user add: a name taken but for its case names the existing account', async () => {
    const data = (await startNode()).dataDir;
    const add = (name: string) =>
      runCli(['user', 'add', name, '--password-stdin', '--data', data], {
        stdin: 'a-good-password\n',
      });
    expect((await add('alice')).code).toBe(0);
    const again = await add('ALICE');
    expect(again.stderr.trim()).toBe('An account named alice already exists (names ignore case).');
    expect(again.code).toBe(1);
    const accented = await add('zoë');
    expect(accented.stderr.trim()).toBe('A username uses only a–z, A–Z, 0–9, ".", "_" and "-".');
    expect(accented.code).toBe(1);
  });

  it('node: a --folder-user for a folder the node does not sync is refused, naming its folders', async () => {
    const base = await makeTempDir();
    await mkdir(join(base, 'docs'));
    const run = await runCli(
      [
        'node',
        '--data',
        join(base, 'data'),
        '--port',
        '0',
        '--folder',
        `docs=${join(base, 'docs')}`,
        '--folder-user',
        'dcos=alice',
      ],
      { env: { MOSAIC_ADMIN_PASSWORD: 'a-good-password' } },
    );
    expect(run.stderr.trim()).toBe(
      '--folder-user dcos=…: this node syncs no folder "dcos" (its folders: docs).',
    );
    expect(run.code).toBe(1);
  });

  it.each(['node', 'cluster', 'user', 'login', 'sync', 'migrate'])(
    'mosaic %s --help gives each default and variable once',
    async (command) => {
      const help = (await runCli([command, '--help'])).stdout;
      expect(help).not.toMatch(/\(default [^)]*\)\s*\(default: /);
      expect(help).not.toMatch(/\(env [A-Z_]+\)\s*\(env: /);
      if (command === 'node') expect(help).toMatch(/--data <dir>\s+data directory, required/);
    },
  );
});
