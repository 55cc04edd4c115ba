/**
 * What `mosaic sync` never syncs or refuses outright: a `.mosaic` directory below the top (a
 * copied folder's or another device's own), a node's own folder, and a directory inside or
 * around one a device already syncs; and what it warns of: a second device of one name. One
 * real node; waits on conditions, never sleeps.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  cleanup,
  makeTempDir,
  startNode,
  type LogLine,
  type NodeProcess,
} from '../helpers/node-process.js';
import { converged, createToken, syncOnce, tree } from '../helpers/device-process.js';

let node: NodeProcess;
let root: string;
let admin: string;

beforeAll(async () => {
  root = join(await makeTempDir('mosaic-nested-node-'), 'docs');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'a.txt'), 'node a\n');
  // A directory copied into the node's folder with its own `.mosaic/` (a laptop's database).
  await mkdir(join(root, 'nodecopy', '.mosaic'), { recursive: true });
  await writeFile(join(root, 'nodecopy', '.mosaic', 'device.db'), 'not to share\n');
  await writeFile(join(root, 'nodecopy', 'x.txt'), 'x\n');
  node = await startNode({ args: ['--folder', `docs=${root}`] });
  admin = await createToken(node.url, 'admin', ADMIN_PASSWORD);
});

afterAll(async () => {
  await cleanup();
});

const sync = (dir: string) => syncOnce(dir, node.url, ['--token', admin, '--folder', 'docs']);

describe('mosaic sync and nested .mosaic directories', () => {
  it("never sends a '.mosaic' below the top (another device's database, an old trash)", async () => {
    const dev = await makeTempDir('mosaic-nested-dev-');
    await mkdir(join(dev, 'copied', '.mosaic', 'trash'), { recursive: true });
    await writeFile(join(dev, 'copied', '.mosaic', 'trash', 'old.txt'), 'old\n');
    await writeFile(join(dev, 'copied', 'photo.txt'), 'photo\n');
    const first = await sync(dev);
    expect(first.code, first.stderr).toBe(0);
    await converged([root], (t) => t.has('copied/photo.txt'));
    const atNode = [...(await tree(root)).keys()];
    expect(atNode.filter((p) => p.startsWith('copied/.mosaic'))).toEqual([]);
    const atDevice = [...(await tree(dev)).keys()];
    expect(atDevice).toContain('nodecopy/x.txt');
    expect(atDevice.filter((p) => p.startsWith('nodecopy/.mosaic'))).toEqual([]);
  });

  it("refuses a node's own folder, and a directory inside or around a synced one (exit 1)", async () => {
    const own = await sync(root);
    expect(own.code).toBe(1);
    expect(own.stderr + JSON.stringify(own.logs)).toContain("is a node's synced folder");

    const outer = await makeTempDir('mosaic-nested-outer-');
    const dev = join(outer, 'dev');
    await mkdir(join(dev, 'sub'), { recursive: true });
    const first = await sync(dev);
    expect(first.code, first.stderr).toBe(0);
    // Its own marker beside its database: the device's DIR again is fine.
    const again = await sync(dev);
    expect(again.code, again.stderr).toBe(0);
    const before = await tree(root);

    const inside = await sync(join(dev, 'sub'));
    expect(inside.code).toBe(1);
    expect(inside.stderr + JSON.stringify(inside.logs)).toContain(
      `is inside ${dev}, which mosaic sync already keeps in sync`,
    );
    const around = await sync(outer);
    expect(around.code).toBe(1);
    expect(around.stderr + JSON.stringify(around.logs)).toContain(`holds ${dev}, already synced`);
    // Nothing was made or sent.
    expect(await tree(root)).toEqual(before);
  });
});

describe('two devices of one name', () => {
  const namesake = /another device syncing "docs" is also named "(\w+)"/;
  const said = (run: { readonly logs: readonly LogLine[] }) =>
    run.logs.map((l) => String(l.msg)).find((m) => namesake.test(m)) ?? null;

  it('the second is told, with what to do; a device of a name of its own is not', async () => {
    const first = await syncOnce(await makeTempDir('mosaic-name-a-'), node.url, [
      ...['--token', admin, '--folder', 'docs', '--device', 'pocket'],
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(said(first)).toBeNull();

    const second = await syncOnce(await makeTempDir('mosaic-name-b-'), node.url, [
      ...['--token', admin, '--folder', 'docs', '--device', 'Pocket'],
    ]);
    expect(second.code, second.stderr).toBe(0);
    expect(said(second)).toContain('--device NAME');

    const other = await syncOnce(await makeTempDir('mosaic-name-c-'), node.url, [
      ...['--token', admin, '--folder', 'docs', '--device', 'desk'],
    ]);
    expect(other.code, other.stderr).toBe(0);
    expect(said(other)).toBeNull();
  });
});
