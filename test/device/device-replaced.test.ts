/**
 * A directory replaced by a file of the same name (rm -r d; then a file d) at one replica is a
 * file everywhere: the user's change, not a conflict. Before, the replica receiving it first
 * applied the deletions of the directory's files, which changed the directory's mtime; the
 * file's version then found "the directory changed since it was indexed" (FolderWriter.place
 * compared a directory's size, mtime and inode as a file's), the rescan took the directory the
 * pull had not removed yet for a new local directory, and a directory beats a file: `d` came
 * back as an empty directory everywhere and the user's file became
 * `d.sync-conflict-…` (found by hand, laptop and node alike). And a laptop that was stopped
 * meanwhile, receiving the file and the deletions in one pull, tried the file first: "could not
 * apply a change ENOTEMPTY" at warn, and the file came one rescan interval later.
 *
 * And a file replaced by an edit from elsewhere keeps its permission bits here: the laptop
 * user's `chmod +x run.sh` (or `chmod 600`) was undone by the next edit pulled (0644). And one
 * whose name is over 246 bytes is replaced or deleted at all: its trash name (`name.<8 hex>`)
 * was over 255 bytes, ENAMETOOLONG at each try, and the replicas never agreed.
 */
import { chmod, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, type LogLine, waitFor } from '../helpers/node-process.js';
import {
  converged,
  nodeAndLaptop,
  sha,
  syncOnce,
  type NodeAndLaptop,
} from '../helpers/device-process.js';

let pair: NodeAndLaptop;
let root: string;
let laptop: string;

beforeAll(async () => {
  pair = await nodeAndLaptop('mosaic-devrep');
  ({ root, laptop } = pair);
});

afterAll(async () => {
  await pair.sync.kill();
  await cleanup();
});

/** `name` is a file with `content` in both trees, and nothing else is at or below it. */
function isFileOnly(name: string, content: string) {
  return (t: Map<string, string>) =>
    t.get(name) === sha(content) &&
    ![...t.keys()].some((p) => p.startsWith(`${name}/`) || p.startsWith(`${name}.sync-`));
}

describe('a directory replaced by a file of the same name', () => {
  for (const where of ['laptop', 'node'] as const) {
    it(`made on the ${where} is a file at both`, async () => {
      const [here, there] = where === 'laptop' ? [laptop, root] : [root, laptop];
      const name = `replaced-on-${where}`;
      await mkdir(join(here, name));
      await writeFile(join(here, name, 'one.txt'), 'one\n');
      await writeFile(join(here, name, 'two.txt'), 'two\n');
      await converged([here, there], (t) => t.has(`${name}/two.txt`));

      await rm(join(here, name), { recursive: true });
      await writeFile(join(here, name), 'now a file\n');
      const t = await converged([here, there], isFileOnly(name, 'now a file\n'), 30_000);
      expect(t.get(name)).toBe(sha('now a file\n'));
    });
  }

  it('arriving at a laptop that was stopped is placed after the deletions, in the same sync', async () => {
    const name = 'replaced-while-stopped';
    await mkdir(join(root, name));
    await writeFile(join(root, name, 'one.txt'), 'one\n');
    await converged([root, laptop], (t) => t.has(`${name}/one.txt`));
    await pair.sync.stop();
    const before = await folderBytes();

    await rm(join(root, name), { recursive: true });
    await writeFile(join(root, name), 'now a file\n');
    // The node has logged the file, after the deletion: both reach the laptop in one pull.
    await waitFor(async () => (await folderBytes()) === before - 4 + 11, {
      what: 'the node to index the file',
    });
    const again = await syncOnce(laptop, pair.node.url, [
      '--token',
      pair.token,
      '--folder',
      'docs',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.logs.filter((l: LogLine) => l.msg === 'could not apply a change')).toEqual([]);
    await converged([root, laptop], isFileOnly(name, 'now a file\n'), 1_000);
  });
});

describe('a file replaced by a version from elsewhere', () => {
  it("keeps this disk's permission bits (an executable script, a private file)", async () => {
    await pair.sync.stop();
    pair.sync = pair.start();
    await writeFile(join(laptop, 'run.sh'), '#!/bin/sh\necho one\n');
    await writeFile(join(laptop, 'private.txt'), 'one\n');
    await converged([root, laptop], (t) => t.has('run.sh') && t.has('private.txt'));
    await chmod(join(laptop, 'run.sh'), 0o755);
    await chmod(join(laptop, 'private.txt'), 0o600);

    await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho two\n');
    await writeFile(join(root, 'private.txt'), 'two\n');
    await converged(
      [root, laptop],
      (t) =>
        t.get('run.sh') === sha('#!/bin/sh\necho two\n') && t.get('private.txt') === sha('two\n'),
    );
    expect((await stat(join(laptop, 'run.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(laptop, 'private.txt'))).mode & 0o777).toBe(0o600);
  });

  it('with a name of 250 bytes, is replaced and deleted too', async () => {
    const name = `${'é'.repeat(123)}.txt`;
    await writeFile(join(laptop, name), 'one\n');
    await converged([root, laptop], (t) => t.get(name) === sha('one\n'));
    await writeFile(join(root, name), 'two\n');
    await converged([root, laptop], (t) => t.get(name) === sha('two\n'));
    await rm(join(root, name));
    await converged([root, laptop], (t) => !t.has(name));
  });
});

/** The bytes of the node's folder, as its status counts them. */
async function folderBytes(): Promise<number> {
  const res = await fetch(`${pair.node.url}/api/folders`, {
    headers: { authorization: `Bearer ${pair.token}` },
  });
  const [docs] = (await res.json()) as { bytes: number }[];
  return docs?.bytes ?? -1;
}
