/**
 * A directory `mosaic sync` synced before and that is gone (its disk not mounted, moved,
 * deleted): refused, nothing made, until `--new-dir` says to start afresh; an empty one whose
 * state is gone (an unmounted disk's mount point) is warned of and starts as a new device; a
 * DIR whose parent is missing is never made. The record lives in XDG_CONFIG_HOME, a temp dir.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  cleanup,
  makeTempDir,
  startNode,
  type LogLine,
  type NodeProcess,
} from '../helpers/node-process.js';
import { converged, createToken, startSync, syncOnce, tree } from '../helpers/device-process.js';

let node: NodeProcess;
let root: string;
let admin: string;
let config: string;

beforeAll(async () => {
  root = join(await makeTempDir('mosaic-vanish-node-'), 'docs');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'a.txt'), 'node a\n');
  await writeFile(join(root, 'sub', 'b.txt'), 'node b\n');
  node = await startNode({ args: ['--folder', `docs=${root}`] });
  admin = await createToken(node.url, 'admin', ADMIN_PASSWORD);
  config = await makeTempDir('mosaic-vanish-config-');
});

afterAll(async () => {
  await cleanup();
});

const args = (...more: string[]) => ['--token', admin, '--folder', 'docs', ...more];
const env = () => ({ XDG_CONFIG_HOME: config });
const said = (run: { readonly logs: readonly LogLine[]; readonly stderr: string }) =>
  [...run.logs.map((l) => String(l.msg)), run.stderr].join('\n');

describe('mosaic sync of a directory synced before that is gone', () => {
  it('is refused (exit 1, one sentence, nothing made) until --new-dir starts afresh', async () => {
    const mount = await makeTempDir('mosaic-vanish-mnt-');
    const dev = join(mount, 'Photos');
    // The first sync makes DIR (its parent exists) and runs until stopped, as a person's does.
    const first = startSync(dev, node.url, args(), env());
    await converged([root, dev], (t) => t.has('sub/b.txt'));
    expect(await first.stop()).toBe(0);

    // The disk is unmounted (here: DIR moved away): the same command again.
    await rename(dev, join(mount, 'Photos.away'));
    const before = await tree(root);
    const again = startSync(dev, node.url, args(), env());
    // Not `--once`: a run that kept going (syncing into a DIR it made) fails here, not at the
    // test's timeout.
    const code = await Promise.race([again.exited, delay(20_000).then(() => 'still running')]);
    await again.kill();
    const run = { logs: again.logs, stderr: again.stderr() };
    expect(code, said(run)).toBe(1);
    expect(said(run)).toContain(`${dev} does not exist, but mosaic sync synced it before`);
    expect(said(run)).toContain('--new-dir');
    expect(existsSync(dev)).toBe(false);
    const once = await syncOnce(dev, node.url, args(), env());
    expect(once.code).toBe(1);
    expect(existsSync(dev)).toBe(false);
    expect(await tree(root)).toEqual(before);

    // Deliberately afresh: a new device in a new DIR, which downloads the folder.
    const fresh = await syncOnce(dev, node.url, args('--new-dir'), env());
    expect(fresh.code, said(fresh)).toBe(0);
    expect(await tree(dev)).toEqual(await tree(root));
    // The new DIR is on record in turn: gone again, refused again.
    await rename(dev, join(mount, 'Photos.away2'));
    const gone = await syncOnce(dev, node.url, args(), env());
    expect(gone.code).toBe(1);
    expect(existsSync(dev)).toBe(false);
  });

  it('an empty DIR on record (a mount point, its disk not mounted) is refused until --new-dir', async () => {
    const dev = join(await makeTempDir('mosaic-vanish-empty-'), 'usb');
    await mkdir(dev);
    const first = await syncOnce(dev, node.url, args(), env());
    expect(first.code, said(first)).toBe(0);
    // The disk unmounted: its mount point stays, empty.
    await rename(dev, `${dev}.away`);
    await mkdir(dev);
    const before = await tree(root);

    const refused = await syncOnce(dev, node.url, args(), env());
    expect(refused.code, said(refused)).toBe(1);
    expect(said(refused)).toContain(`${dev} is empty, but mosaic sync synced it before`);
    expect(await tree(dev)).toEqual(new Map());
    const fresh = await syncOnce(dev, node.url, args('--new-dir'), env());
    expect(fresh.code, said(fresh)).toBe(0);
    expect(await tree(root)).toEqual(before);
    expect(await tree(dev)).toEqual(before);
  });

  it('a DIR on record whose .mosaic was deleted (to sync it as a new device): warned, nothing deleted', async () => {
    const dev = join(await makeTempDir('mosaic-vanish-state-'), 'Docs');
    await mkdir(dev);
    const first = await syncOnce(dev, node.url, args(), env());
    expect(first.code, said(first)).toBe(0);
    await rm(join(dev, '.mosaic'), { recursive: true });
    await writeFile(join(dev, 'mine.txt'), 'made on the laptop meanwhile\n');
    const before = await tree(root);

    const run = await syncOnce(dev, node.url, args(), env());
    expect(run.code, said(run)).toBe(0);
    expect(said(run)).toContain(`${dev} was synced before`);
    expect(said(run)).toContain('its state');
    // A new device: the node's files stay, the laptop's new one goes up, nothing is deleted.
    const after = await converged([root, dev], (t) => t.has('mine.txt'));
    for (const [path, entry] of before) expect(after.get(path)).toEqual(entry);
  });

  it('a DIR whose parent is missing is not made, synced before or not', async () => {
    const mount = await makeTempDir('mosaic-vanish-noparent-');
    const dev = join(mount, 'usb', 'Photos');
    for (const extra of [[], ['--new-dir']]) {
      const run = await syncOnce(dev, node.url, args(...extra), env());
      expect(run.code).toBe(1);
      expect(said(run)).toContain(`${dev} does not exist, nor does ${join(mount, 'usb')}`);
      expect(existsSync(join(mount, 'usb'))).toBe(false);
    }
  });
});
