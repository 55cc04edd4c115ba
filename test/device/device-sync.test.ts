/**
 * Device sync against one real node: `mosaic sync` processes on temp directories. Waits on
 * conditions, never fixed sleeps; latencies are printed, not asserted.
 */
import { deviceIdFor } from '../../src/devices/core/device-id.js';
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  BIN,
  REPO_ROOT,
  addUser,
  cleanup,
  makeTempDir,
  startNode,
  type NodeProcess,
} from '../helpers/node-process.js';
import {
  devicePut,
  converged,
  createToken,
  sha,
  startSync,
  syncOnce,
  tree,
  type SyncProcess,
} from '../helpers/device-process.js';

let node: NodeProcess;
let root: string;
let admin: string;
let carol: string;
let bob: string;
const devices: SyncProcess[] = [];

function conflictCopies(t: Map<string, string>, base: string): string[] {
  return [...t.keys()].filter((p) => p.startsWith(`${base}.sync-conflict-`));
}

beforeAll(async () => {
  root = join(await makeTempDir('mosaic-dev-node-'), 'docs');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'a.txt'), 'node a\n');
  await writeFile(join(root, 'sub', 'b.txt'), 'node b\n');
  await writeFile(join(root, 'same.txt'), 'node version\n');
  node = await startNode({
    args: ['--folder', `docs=${root}`, '--folder-user', 'docs=carol'],
  });
  await addUser(node.dataDir, 'carol', 'carol-password');
  await addUser(node.dataDir, 'bob', 'bob-password');
  admin = await createToken(node.url, 'admin', ADMIN_PASSWORD);
  carol = await createToken(node.url, 'carol', 'carol-password');
  bob = await createToken(node.url, 'bob', 'bob-password');
});

afterAll(async () => {
  await Promise.all(devices.map((d) => d.kill()));
  await cleanup();
});

describe('mosaic sync with one node', () => {
  let dev1: string;
  let dev2: string;

  it('downloads into an empty device; uploads from a populated one (union, a conflict kept as a copy)', async () => {
    dev1 = await makeTempDir('mosaic-dev1-');
    await converged([root], (t) => t.has('same.txt'));
    const first = await syncOnce(dev1, node.url, ['--token', admin, '--folder', 'docs']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.logs.find((l) => l.msg === 'synced')).toMatchObject({ inSync: true });
    expect(await tree(dev1)).toEqual(await tree(root));

    dev2 = await makeTempDir('mosaic-dev2-');
    await mkdir(join(dev2, 'sub'));
    await writeFile(join(dev2, 'c.txt'), 'device c\n');
    await writeFile(join(dev2, 'sub', 'd.txt'), 'device d\n');
    await writeFile(join(dev2, 'same.txt'), 'device version\n');
    // carol is not an admin: she may use "docs" because the node lists her for it.
    const second = await syncOnce(dev2, node.url, ['--token', carol, '--device', 'carols-laptop']);
    expect(second.code, second.stderr).toBe(0);
    const union = await converged([root, dev2], (t) => t.has('c.txt') && t.has('sub/d.txt'));
    expect(union.get('a.txt')).toBe(sha('node a\n'));
    const same = ['same.txt', ...conflictCopies(union, 'same')].map((p) => union.get(p));
    expect(same.sort()).toEqual([sha('device version\n'), sha('node version\n')].sort());

    const again = await syncOnce(dev1, node.url, ['--token', admin, '--folder', 'docs']);
    expect(again.code, again.stderr).toBe(0);
    await converged(
      [root, dev1, dev2],
      (t) => t.has('c.txt') && conflictCopies(t, 'same').length === 1,
    );
  });

  it('connected devices get changes within seconds, in both directions', async () => {
    devices.push(
      startSync(dev1, node.url, ['--token', admin, '--folder', 'docs', '--interval', '2']),
    );
    devices.push(startSync(dev2, node.url, ['--token', carol, '--interval', '2']));
    await Promise.all(devices.map((d) => waitForLine(d, (l) => l.msg === 'device sync started')));

    let t0 = Date.now();
    await writeFile(join(root, 'from-node.txt'), 'made at the node\n');
    await converged([root, dev1, dev2], (t) => t.has('from-node.txt'));
    console.log(`node -> 2 devices: ${Date.now() - t0} ms`);

    t0 = Date.now();
    await writeFile(join(dev1, 'from-dev1.txt'), 'made on device 1\n');
    await converged([root, dev1, dev2], (t) => t.has('from-dev1.txt'));
    console.log(`device 1 -> node -> device 2: ${Date.now() - t0} ms`);

    t0 = Date.now();
    await writeFile(join(dev2, 'a.txt'), 'edited on device 2\n');
    await rm(join(dev2, 'c.txt'));
    await converged(
      [root, dev1, dev2],
      (t) => t.get('a.txt') === sha('edited on device 2\n') && !t.has('c.txt'),
    );
    console.log(`device 2 edit + delete -> everywhere: ${Date.now() - t0} ms`);
    // The deleted file went to the trash, not away.
    expect((await readdir(join(root, '.mosaic', 'trash'))).length).toBeGreaterThan(0);
  });

  it('a device offline while both sides change a file: a conflict copy on both sides, nothing lost', async () => {
    const d1 = devices.shift() as SyncProcess;
    expect(await d1.stop()).toBe(0);
    await writeFile(join(root, 'a.txt'), 'node edit while dev1 is away\n');
    await converged([root, dev2], (t) => t.get('a.txt') === sha('node edit while dev1 is away\n'));
    await writeFile(join(dev1, 'a.txt'), 'dev1 edit while offline\n');
    await writeFile(join(dev1, 'offline-new.txt'), 'new while offline\n');

    devices.push(
      startSync(dev1, node.url, ['--token', admin, '--folder', 'docs', '--interval', '2']),
    );
    const t = await converged(
      [root, dev1, dev2],
      (tr) => tr.has('offline-new.txt') && conflictCopies(tr, 'a').length === 1,
    );
    const versions = ['a.txt', ...conflictCopies(t, 'a')].map((p) => t.get(p));
    expect(versions.sort()).toEqual(
      [sha('node edit while dev1 is away\n'), sha('dev1 edit while offline\n')].sort(),
    );
  });

  it('mosaic login saves a token (0600) that mosaic sync then uses', async () => {
    const config = await makeTempDir('mosaic-dev-config-');
    const login = spawn(
      process.execPath,
      [BIN, 'login', '--server', node.url, '--username', 'carol', '--password-stdin'],
      { cwd: REPO_ROOT, env: { ...process.env, XDG_CONFIG_HOME: config }, stdio: 'pipe' },
    );
    login.stdin.end('carol-password\n');
    const code = await new Promise((resolve) => login.once('close', resolve));
    expect(code).toBe(0);
    const file = join(config, 'mosaic', 'credentials.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const dev = await makeTempDir('mosaic-dev-login-');
    const res = await syncOnce(dev, node.url, [], { XDG_CONFIG_HOME: config });
    expect(res.code, res.stderr).toBe(0);
    expect((await tree(dev)).has('sub/b.txt')).toBe(true);
  });

  it('a wrong token: exit code 3 and a message, nothing changed on either side', async () => {
    const dev3 = await makeTempDir('mosaic-dev3-');
    await writeFile(join(dev3, 'mine.txt'), 'mine\n');
    const nodeBefore = await tree(root);
    const res = await syncOnce(dev3, node.url, [
      '--token',
      'mos_not-a-real-token',
      '--folder',
      'docs',
    ]);
    expect(res.code).toBe(3);
    expect(JSON.stringify(res.logs) + res.stderr).toMatch(/refused the token/);
    expect(await readdir(dev3)).toEqual(['mine.txt']);
    expect(await tree(root)).toEqual(nodeBefore);
  });

  it('a second account cannot see or write the folder', async () => {
    const dev4 = await makeTempDir('mosaic-dev4-');
    await writeFile(join(dev4, 'intruder.txt'), 'intruder\n');
    const res = await syncOnce(dev4, node.url, ['--token', bob, '--folder', 'docs']);
    expect(res.code).toBe(4);
    expect(existsSync(join(root, 'intruder.txt'))).toBe(false);

    const asBob = (path: string, init: RequestInit = {}) =>
      fetch(`${node.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json' },
      });
    expect(await (await asBob('/api/folders')).json()).toEqual([]);
    const hash = sha('node b\n');
    expect((await asBob(`/api/folders/docs/content/${hash}`)).status).toBe(404);
    const missing = await asBob('/api/folders/docs/uploads/missing', {
      method: 'POST',
      body: JSON.stringify({ hashes: [hash] }),
    });
    expect(missing.status).toBe(404);
    const register = await asBob('/api/folders/docs/devices', {
      method: 'POST',
      body: JSON.stringify({ deviceId: '00000000000000b0', name: 'bobs' }),
    });
    expect(register.status).toBe(404);
    // The same answer as for a folder that does not exist: nothing is revealed.
    const none = await asBob('/api/folders/nope/devices', {
      method: 'POST',
      body: JSON.stringify({ deviceId: '00000000000000b0', name: 'bobs' }),
    });
    expect(none.status).toBe(404);
  });

  it('the node refuses device paths that leave the folder, and ops of another origin', async () => {
    // A device id is derived from its account's name and a nonce (src/devices/core/device-id.ts).
    const nonce = 'd'.repeat(32);
    const device = deviceIdFor('admin', nonce);
    const call = (path: string, body: unknown) =>
      fetch(`${node.url}/api/folders/docs${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await call('/devices', { deviceId: device, name: 'probe', nonce })).status).toBe(200);
    const op = (origin: string, seq: number, path: string) =>
      devicePut(origin, 'probe', seq, path, 'x');
    for (const path of ['../evil.txt', '/etc/evil', '.mosaic/evil', 'a/../../evil', 'c:evil']) {
      const res = await call(`/devices/${device}/ops`, { ops: [op(device, 1, path)] });
      expect(res.status, path).toBe(422);
    }
    const other = await call(`/devices/${device}/ops`, {
      ops: [op('eeeeeeeeeeeeeeee', 1, 'ok.txt')],
    });
    expect(other.status).toBe(422);
    const registered = await call('/devices', { deviceId: device, name: 'probe' });
    expect(await registered.json()).toMatchObject({ acked: 0 });
    expect(existsSync(join(root, '..', 'evil.txt'))).toBe(false);
  });

  it("lists a folder's devices: each account its own, an admin everyone's, nobody else any", async () => {
    interface Listed {
      id: string;
      name: string;
      owner: string;
      lastSeen: string | null;
    }
    const list = async (token: string | null, folder = 'docs') => {
      const res = await fetch(`${node.url}/api/folders/${folder}/devices`, {
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      });
      return { status: res.status, body: (await res.json()) as Listed[] };
    };
    const mine = await list(carol);
    expect(mine.status).toBe(200);
    // Hers: the laptop above, and the one "mosaic login" set up (named after the host).
    expect(mine.body.length).toBe(2);
    expect(mine.body.every((d) => d.owner === 'carol')).toBe(true);
    const laptop = mine.body.find((d) => d.name === 'carols-laptop');
    expect(laptop?.owner).toBe('carol');
    expect(laptop?.id).toMatch(/^[0-9a-f]{16}$/);
    expect(Date.parse(laptop?.lastSeen ?? '')).toBeLessThanOrEqual(Date.now());

    const all = await list(admin);
    expect(all.status).toBe(200);
    expect(new Set(all.body.map((d) => d.owner))).toEqual(new Set(['admin', 'carol']));
    expect(all.body.map((d) => d.name)).toContain('probe');
    expect(all.body.map((d) => d.id)).toContain(laptop?.id);

    // Bob may not use the folder: the same 404 as for a folder that does not exist.
    expect((await list(bob)).status).toBe(404);
    expect((await list(admin, 'nope')).status).toBe(404);
    expect((await list(null)).status).toBe(401);
  });

  it('removes a device: its owner or an admin may; it is refused from then on (exit code 5)', async () => {
    const call = async (method: string, path: string, token: string | null) => {
      const res = await fetch(`${node.url}/api/folders/docs/devices${path}`, {
        method,
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      });
      return { status: res.status, body: (await res.text()) || null };
    };
    const devicesOf = async (token: string) =>
      JSON.parse((await call('GET', '', token)).body ?? '[]') as { id: string; name: string }[];
    const carols = await devicesOf(carol);
    const laptop = carols.find((d) => d.name === 'carols-laptop');
    const other = carols.find((d) => d.name !== 'carols-laptop');
    if (laptop === undefined || other === undefined) throw new Error('two devices of carol');

    // Nobody else may: bob may not use the folder, and an unknown device is not found.
    expect((await call('DELETE', `/${laptop.id}`, null)).status).toBe(401);
    expect((await call('DELETE', `/${laptop.id}`, bob)).status).toBe(404);
    expect((await call('DELETE', '/00000000000000ff', carol)).status).toBe(404);
    expect((await call('DELETE', '/not-an-id', carol)).status).toBe(400);

    // Carol removes her laptop (twice: the second changes nothing); an admin removes her other.
    expect((await call('DELETE', `/${laptop.id}`, carol)).status).toBe(204);
    expect((await call('DELETE', `/${laptop.id}`, carol)).status).toBe(204);
    expect((await call('DELETE', `/${other.id}`, admin)).status).toBe(204);
    expect(await devicesOf(carol)).toEqual([]);
    expect((await devicesOf(admin)).map((d) => d.id)).not.toContain(laptop.id);

    // The laptop is told, and changes nothing at the node.
    const before = await tree(root);
    await writeFile(join(dev2, 'after-removal.txt'), 'not to be sent\n');
    const res = await syncOnce(dev2, node.url, ['--token', carol]);
    expect(res.code).toBe(5);
    expect(JSON.stringify(res.logs) + res.stderr).toMatch(
      /This device was removed from the folder/,
    );
    expect(await tree(root)).toEqual(before);
  });
});

async function waitForLine(
  p: SyncProcess,
  match: (l: Readonly<Record<string, unknown>>) => boolean,
): Promise<void> {
  const { waitFor } = await import('../helpers/node-process.js');
  await waitFor(() => p.logs.some(match), { timeoutMs: 20_000, what: 'a sync log line' });
}
