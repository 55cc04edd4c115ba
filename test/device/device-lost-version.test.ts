/**
 * A laptop's version that nobody can ever bring: written on the laptop while its node was down,
 * deleted by its user before the laptop could upload it, and losing a conflict at the node. The
 * laptop's operation reaches the node without bytes (it uploads what it still holds), so the
 * node makes a conflict copy of a content nobody holds. Nodes cannot ask a laptop, so they never
 * retired such a copy, and every node needed it for good (fault tier seeds 664734563 and
 * 773459130: "trees agree, but n1 still needs 1 files", all four nodes). Now the laptop, shown
 * the node's wanted contents, answers which it holds nowhere, and the node retires the copy.
 */
import Database from 'better-sqlite3';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  cleanup,
  makeTempDir,
  startNode,
  waitFor,
  type NodeProcess,
} from '../helpers/node-process.js';
import { deviceIdFor } from '../../src/devices/core/device-id.js';
import {
  converged,
  createToken,
  devicePut,
  sha,
  startSync,
  syncOnce,
  type SyncProcess,
} from '../helpers/device-process.js';

interface FolderApi {
  id: string;
  needFiles: number;
}

let node: NodeProcess;
let root: string;
let token: string;
const laptops: SyncProcess[] = [];

beforeAll(async () => {
  root = join(await makeTempDir('mosaic-devlost-node-'), 'docs');
  await mkdir(root);
  node = await startNode({ args: ['--folder', `docs=${root}`] });
  token = await createToken(node.url, 'admin', ADMIN_PASSWORD);
});

afterAll(async () => {
  await Promise.all(laptops.map((l) => l.kill()));
  await cleanup();
});

interface PutBody {
  path: string;
  deleted: boolean;
  hash: string | null;
  vv: Record<string, number>;
}

/** The `file.put` operations the database at `file` holds for `path`, in order. */
function putBodiesOf(file: string, path: string): PutBody[] {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare("SELECT body FROM ops WHERE kind = 'file.put' ORDER BY hlc").all() as {
      body: string;
    }[];
    return rows.map((row) => JSON.parse(row.body) as PutBody).filter((body) => body.path === path);
  } catch {
    return []; // not made yet
  } finally {
    db.close();
  }
}

/** Of those operations: deleted or not, in order. */
function putsOf(file: string, path: string): boolean[] {
  return putBodiesOf(file, path).map((body) => body.deleted);
}

/** A call of the folder's device API at the node, as the admin. */
function call(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${node.url}/api/folders/docs${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function needFilesAtNode(): Promise<number | undefined> {
  const res = await fetch(`${node.url}/api/folders`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await res.json()) as FolderApi[]).find((f) => f.id === 'docs')?.needFiles;
}

/**
 * The laptop registers with `first`, then writes `path` while its node is down and deletes it;
 * the node writes `path` too. Runs of the laptop after the first take `later` (a laptop started
 * again under another name, say). Resolves once the node needs nothing.
 */
async function versionDeletedBeforeUpload(
  path: string,
  first: readonly string[],
  later: readonly string[],
): Promise<string> {
  const dev = await makeTempDir('mosaic-devlost-dev-');
  const args = ['--token', token, '--folder', 'docs', '--interval', '1'];
  expect((await syncOnce(dev, node.url, [...args, ...first])).code).toBe(0);
  const deviceDb = join(dev, '.mosaic', 'device.db');

  // Offline: the laptop's user writes the file, then deletes it. Both are operations of the
  // laptop, neither reached the node, and the bytes are gone.
  await node.kill();
  const offline = startSync(dev, node.url, [...args, ...later]);
  laptops.push(offline);
  await writeFile(join(dev, path), 'the draft written on the train\n');
  await waitFor(() => putsOf(deviceDb, path).length === 1, {
    timeoutMs: 20_000,
    what: `the laptop's scan to take ${path}`,
  });
  await rm(join(dev, path));
  await waitFor(() => putsOf(deviceDb, path).join() === 'false,true', {
    timeoutMs: 20_000,
    what: "the laptop's scan to take the deletion",
  });
  await offline.kill();

  // Meanwhile at the server, the file is written too: a later version than the laptop's, which
  // loses the conflict when it arrives and is kept as a copy the laptop cannot send.
  await writeFile(join(root, path), 'the final report\n');
  await node.restart();
  await waitFor(() => putsOf(join(node.dataDir, 'mosaic.db'), path).length === 1, {
    timeoutMs: 20_000,
    what: `the node to take its own ${path}`,
  });
  const laptop = startSync(dev, node.url, [...args, ...later]);
  laptops.push(laptop);
  await waitFor(() => putsOf(join(node.dataDir, 'mosaic.db'), path).length >= 3, {
    timeoutMs: 20_000,
    what: "the laptop's two operations at the node",
  });

  await waitFor(async () => (await needFilesAtNode()) === 0, {
    timeoutMs: 45_000,
    what: 'the node to need nothing (the copy nobody can bring retired)',
  });
  return dev;
}

describe("a laptop's version its user deleted before the laptop could upload it", () => {
  it('leaves no conflict copy needed for good: the laptop says it lacks it, the node retires it', async () => {
    const dev = await versionDeletedBeforeUpload('report.txt', [], []);
    const tree = await converged([root, dev], (t) => t.has('report.txt'), 30_000);
    expect(tree.get('report.txt')).toBe(sha('the final report\n'));
    expect([...tree.keys()].filter((path) => path.includes('sync-conflict'))).toEqual([]);
    expect(node.logs.some((l) => l.msg?.toString().startsWith('conflict copies retired'))).toBe(
      true,
    );
  });

  it('retires it too when the laptop was renamed after it first registered', async () => {
    // Its versions carry its new name; the cluster's record of it keeps the first one.
    const dev = await versionDeletedBeforeUpload(
      'minutes.txt',
      ['--device', 'old-laptop'],
      ['--device', 'new-laptop'],
    );
    const tree = await converged([root, dev], (t) => t.has('minutes.txt'), 30_000);
    expect(tree.get('minutes.txt')).toBe(sha('the final report\n'));
    expect([...tree.keys()].filter((path) => path.includes('new-laptop'))).toEqual([]);
  });

  it('retires it once the laptop is removed from the folder (a laptop lost for good answers nothing)', async () => {
    const nonce = 'f'.repeat(32);
    const device = deviceIdFor('admin', nonce);
    const registered = await call('POST', '/devices', {
      deviceId: device,
      name: 'lost-laptop',
      nonce,
    });
    expect(registered.status).toBe(200);

    // The node's own plan.txt, and the laptop's concurrent one, written a minute before: it
    // loses, and its copy's bytes never came (the laptop was lost right after its push).
    await writeFile(join(root, 'plan.txt'), 'the plan at home\n');
    await waitFor(() => putsOf(join(node.dataDir, 'mosaic.db'), 'plan.txt').length === 1, {
      timeoutMs: 20_000,
      what: 'the node to take its own plan.txt',
    });
    const pushed = await call('POST', `/devices/${device}/ops`, {
      ops: [devicePut(device, 'lost-laptop', 1, 'plan.txt', 'the plan on the laptop\n', {})],
    });
    expect(pushed.status).toBe(200);
    await waitFor(async () => (await needFilesAtNode()) === 1, {
      timeoutMs: 20_000,
      what: "the node to need the laptop's copy",
    });

    expect((await call('DELETE', `/devices/${device}`)).status).toBe(204);
    await waitFor(async () => (await needFilesAtNode()) === 0, {
      timeoutMs: 45_000,
      what: "the node to need nothing (the removed laptop's copy retired)",
    });
    const tree = await converged([root], (t) => t.has('plan.txt'), 30_000);
    expect(tree.get('plan.txt')).toBe(sha('the plan at home\n'));
    expect([...tree.keys()].filter((path) => path.includes('lost-laptop'))).toEqual([]);
  });

  it('gives each path back what the node holds once a laptop whose newer versions never came is removed', async () => {
    const nonce = 'c'.repeat(32);
    const device = deviceIdFor('admin', nonce);
    const name = 'stolen-laptop';
    expect((await call('POST', '/devices', { deviceId: device, name, nonce })).status).toBe(200);
    const db = join(node.dataDir, 'mosaic.db');
    await writeFile(join(root, 'budget.txt'), 'the budget at home\n');
    await waitFor(() => putsOf(db, 'budget.txt').length === 1, {
      timeoutMs: 20_000,
      what: 'the node to take its own budget.txt',
    });
    const home = putBodiesOf(db, 'budget.txt')[0];
    // The laptop saved over the node's budget.txt and wrote ideas.txt; its pushes came, its
    // uploads never did: the laptop was stolen.
    const pushed = await call('POST', `/devices/${device}/ops`, {
      ops: [
        devicePut(device, name, 1, 'budget.txt', 'the budget on the train\n', home?.vv ?? {}),
        devicePut(device, name, 2, 'ideas.txt', 'ideas nobody else saw\n', {}),
      ],
    });
    expect(pushed.status).toBe(200);
    await waitFor(async () => (await needFilesAtNode()) === 2, {
      timeoutMs: 20_000,
      what: "the node to need the laptop's two versions",
    });

    expect((await call('DELETE', `/devices/${device}`)).status).toBe(204);
    await waitFor(async () => (await needFilesAtNode()) === 0, {
      timeoutMs: 45_000,
      what: "the node to need nothing (the removed laptop's versions retired)",
    });
    const tree = await converged([root], (t) => t.has('budget.txt') && !t.has('ideas.txt'), 30_000);
    expect(tree.get('budget.txt')).toBe(sha('the budget at home\n'));
    // By operations of the node, which its peers take as any other: the budget kept, the
    // ideas deleted.
    expect(putBodiesOf(db, 'budget.txt').at(-1)).toMatchObject({
      deleted: false,
      hash: sha('the budget at home\n'),
    });
    expect(putsOf(db, 'ideas.txt')).toEqual([false, true]);
  });

  it("refuses a 'lacking' answer without a login, with bad hashes, or for another's device", async () => {
    const url = `${node.url}/api/folders/docs/devices/${'0'.repeat(16)}/lacking`;
    const json = { 'content-type': 'application/json' };
    const post = (body: unknown, headers: Record<string, string>) =>
      fetch(url, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });
    const auth = { authorization: `Bearer ${token}` };
    expect((await post({ hashes: ['a'.repeat(64)] }, {})).status).toBe(401);
    for (const body of [{ hashes: [] }, { hashes: ['not a hash'] }, { hashes: 'x' }, {}]) {
      const res = await post(body, auth);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBeTruthy();
    }
    // A device id that is no device of this account's: refused, nothing recorded.
    const foreign = await post({ hashes: ['a'.repeat(64)] }, auth);
    expect(foreign.status).toBe(403);
  });
});
