/**
 * A node's data directory: private (0700, its database files 0600), one node at a time (a
 * second is refused; a node killed hard restarts without clean-up), and what is wrong with it
 * or with the flags said in the words of the flags and paths, exit code 1.
 */
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ADMIN_PASSWORD, cleanup, makeTempDir, startNode } from '../helpers/node-process.js';

afterAll(cleanup);

const ENV = { MOSAIC_ADMIN_PASSWORD: ADMIN_PASSWORD };
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('the data directory', () => {
  it('is made 0700, its database files 0600; looser ones are tightened at start', async () => {
    const parent = await makeTempDir();
    const data = join(parent, 'new', 'data');
    const node = await startNode({ dataDir: data });
    expect(await modeOf(data)).toBe(0o700);
    for (const name of ['mosaic.db', 'mosaic.db-wal', 'mosaic.db-shm']) {
      expect(await modeOf(join(data, name)), name).toBe(0o600);
    }
    await node.stop();
    await chmod(join(data, 'mosaic.db'), 0o644);
    await node.restart();
    expect(await modeOf(join(data, 'mosaic.db'))).toBe(0o600);
    expect(node.logs.some((l) => String(l.msg).includes('now 0600'))).toBe(true);
    await node.stop();
  });

  it('is used by one node at a time; a node killed hard restarts', async () => {
    const first = await startNode();
    const second = await runCli(['node', '--data', first.dataDir, '--port', '0'], { env: ENV });
    expect(second.stderr.trim()).toBe(
      `${first.dataDir} is in use by another mosaic node (pid ${first.process.pid}).`,
    );
    expect(second.code).toBe(1);
    // `mosaic user` still works beside the running node.
    const user = await runCli(
      ['user', 'add', 'dora', '--password-stdin', '--data', first.dataDir],
      {
        stdin: 'dora-password\n',
      },
    );
    expect(user.code, user.stderr).toBe(0);
    await first.kill();
    await first.restart();
    await first.stop();
  });
});

describe('mosaic node start-up errors', () => {
  it.each<[string, (dir: string) => Promise<string[]>, string]>([
    ['no --data', async () => [], '--data is required (or MOSAIC_DATA).'],
    [
      '--port abc',
      async (dir) => ['--data', dir, '--port', 'abc'],
      '--port is a number from 0 to 65535.',
    ],
    [
      '--data is a file',
      async (dir) => {
        await writeFile(join(dir, 'file'), 'x');
        return ['--data', join(dir, 'file')];
      },
      '--data DIR/file is not a directory.',
    ],
    [
      'a damaged mosaic.db',
      async (dir) => {
        await writeFile(
          join(dir, 'mosaic.db'),
          'not a database at all, just some text'.repeat(200),
        );
        return ['--data', dir];
      },
      'DIR/mosaic.db is not a Mosaic database (file is not a database).',
    ],
    [
      'a node mosaic migrate moved out, started again on SQLite',
      async (dir) => {
        await writeFile(join(dir, 'mosaic.db.migrated'), 'the old database');
        return ['--data', dir];
      },
      'DIR holds a node that mosaic migrate moved into PostgreSQL and S3 (mosaic.db.migrated): ' +
        'start the site with --database and --blobs (this directory may be its scratch space), ' +
        'or move mosaic.db.migrated away to start a new, empty node here.',
    ],
    [
      "a one-process node's directory given to a process on PostgreSQL",
      async (dir) => {
        await writeFile(join(dir, 'mosaic.db'), 'a node not moved yet');
        return ['--data', dir, '--database', 'postgres://mosaic@127.0.0.1:1/site-a'];
      },
      'DIR holds a one-process node (mosaic.db), which a process on PostgreSQL (--database) ' +
        'would not use: move it in first (mosaic migrate --from-data DIR --database … --blobs …), ' +
        'or give this process another --data (scratch space only).',
    ],
  ])('%s', async (_, argsIn, message) => {
    const dir = await makeTempDir();
    const args = await argsIn(dir);
    const run = await runCli(['node', ...args], { env: ENV });
    expect(run.stderr.trim()).toBe(message.replaceAll('DIR', dir));
    expect(run.code).toBe(1);
  });

  it.skipIf(process.getuid?.() === 0)('an unwritable directory', async () => {
    const dir = await makeTempDir();
    await mkdir(join(dir, 'ro'), { mode: 0o500 });
    const run = await runCli(['node', '--data', join(dir, 'ro')], { env: ENV });
    expect(run.stderr.trim()).toBe(`cannot write to ${join(dir, 'ro')}: permission denied`);
    expect(run.code).toBe(1);
  });

  it('a port in use', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const dir = await makeTempDir();
      const run = await runCli(['node', '--data', dir, '--port', String(port)], { env: ENV });
      expect(run.stderr.trim()).toBe(
        `Port ${port} on 127.0.0.1 is already in use (another node?).`,
      );
      expect(run.code).toBe(1);
    } finally {
      server.close();
    }
  });
});
