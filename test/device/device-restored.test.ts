/**
 * A laptop whose `DIR/.mosaic` is put back to an older copy (a backup of the home directory
 * restored) after it had sent more changes: the node holds the device's changes up to a
 * number its restored clock is below. Before, its next changes took those numbers again, at or
 * below what the node had acknowledged, so they were never sent, and the run still ended "in
 * sync": a file made on the laptop never reached the node. Now the registration moves the
 * device's clock past them, says so, and the new changes go up.
 */
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
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
import { converged, createToken, startSync, syncOnce } from '../helpers/device-process.js';

let node: NodeProcess;
let root: string;
let token: string;
let config: string;

beforeAll(async () => {
  root = join(await makeTempDir('mosaic-restored-node-'), 'docs');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'a.txt'), 'from the node\n');
  node = await startNode({ args: ['--folder', `docs=${root}`] });
  token = await createToken(node.url, 'admin', ADMIN_PASSWORD);
  config = await makeTempDir('mosaic-restored-config-');
});

afterAll(async () => {
  await cleanup();
});

const args = () => ['--token', token, '--folder', 'docs'];
const said = (run: { readonly logs: readonly LogLine[]; readonly stderr: string }) =>
  [...run.logs.map((l) => String(l.msg)), run.stderr].join('\n');

describe('mosaic sync of a DIR whose .mosaic was restored from an older copy', () => {
  it('numbers its next changes after what the node holds, and they reach the node', async () => {
    const dev = join(await makeTempDir('mosaic-restored-dev-'), 'Docs');
    await mkdir(dev);
    const env = { XDG_CONFIG_HOME: config };
    const run = (extra: string[] = []) => syncOnce(dev, node.url, [...args(), ...extra], env);
    expect((await run()).code).toBe(0);
    // The backup of the laptop: its device state as it is now.
    const backup = await makeTempDir('mosaic-restored-backup-');
    await cp(join(dev, '.mosaic'), backup, { recursive: true });

    await writeFile(join(dev, 'b.txt'), 'made after the backup\n');
    await writeFile(join(dev, 'b2.txt'), 'also made after the backup\n');
    expect((await run()).code).toBe(0);
    await converged([root, dev], (t) => t.has('b2.txt'));

    // The state restored from the backup; then a new file on the laptop.
    await rm(join(dev, '.mosaic'), { recursive: true, force: true });
    await cp(backup, join(dev, '.mosaic'), { recursive: true });
    await writeFile(join(dev, 'c.txt'), 'made after the restore\n');
    const restored = await run();
    expect(restored.code, said(restored)).toBe(0);
    expect(said(restored)).toContain('is older than what it had sent');
    const both = await converged([root, dev], (t) => t.has('c.txt'), 20_000);
    expect([...both.keys()].sort()).toEqual(['a.txt', 'b.txt', 'b2.txt', 'c.txt']);

    // The same again with a run that keeps going (it registers before its first scan when the
    // node answers, so the changes that scan finds are numbered after what the node holds).
    const again = await makeTempDir('mosaic-restored-backup2-');
    await cp(join(dev, '.mosaic'), again, { recursive: true });
    await writeFile(join(dev, 'd.txt'), 'made after the second backup\n');
    expect((await run()).code).toBe(0);
    await converged([root, dev], (t) => t.has('d.txt'));
    await rm(join(dev, '.mosaic'), { recursive: true, force: true });
    await cp(again, join(dev, '.mosaic'), { recursive: true });
    await writeFile(join(dev, 'e.txt'), 'made after the second restore\n');
    const running = startSync(dev, node.url, args(), env);
    try {
      await converged([root, dev], (t) => t.has('e.txt'), 20_000);
    } finally {
      await running.stop();
    }
  });
});
