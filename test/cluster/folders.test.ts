/**
 * Folder sync between nodes: 4 real node processes, each mirroring its own directory of the
 * folder "folder"; all converge to the union. Waits on conditions, never fixed sleeps.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/replication/peer-auth.js';
import { nodeIdAt } from '../helpers/peer.js';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { folderTree } from '../helpers/folder-tree.js';
import { cleanup, makeTempDir, waitFor } from '../helpers/node-process.js';

let cluster: TestCluster;
let n: ClusterNode[];
let roots: string[];

function firstDifference(a: Map<string, string>, b: Map<string, string>): string | null {
  for (const [p, h] of a)
    if (b.get(p) !== h) return `${p}: ${h.slice(0, 8)} vs ${b.get(p)?.slice(0, 8) ?? 'missing'}`;
  for (const p of b.keys()) if (!a.has(p)) return `${p} only on the second`;
  return null;
}

/**
 * Waits until every root holds the same tree (and `expect` holds on it): polls paths, sizes and
 * mtimes (mtimes are kept by the sync, so they must agree too), and once they agree compares
 * every file's content.
 */
async function converged(
  dirs: readonly string[],
  {
    timeoutMs = 120_000,
    expect: check,
  }: { timeoutMs?: number; expect?: (t: Map<string, string>) => boolean } = {},
): Promise<Map<string, string>> {
  let last = '';
  let result = new Map<string, string>();
  try {
    await waitFor(
      async () => {
        for (const content of [false, true]) {
          const trees = await Promise.all(dirs.map((d) => folderTree(d, { content })));
          const [first, ...rest] = trees;
          if (!first) return true;
          for (const [i, t] of rest.entries()) {
            const diff = firstDifference(first, t);
            if (diff !== null) {
              last = `node 1 vs node ${i + 2}: ${diff}`;
              return false;
            }
          }
          if (check && !check(first)) {
            last = 'same trees, not the expected one yet';
            return false;
          }
          result = first;
        }
        return true;
      },
      { timeoutMs, intervalMs: 200, what: 'folders to converge' },
    );
  } catch {
    // The nodes' own warnings are the quickest way to see why.
    const warnings = n
      .flatMap((node) =>
        node.node.logs
          .filter((l) => Number(l['level']) >= 40 && l.msg !== 'peer down')
          .map((l) => `${node.name}: ${JSON.stringify(l)}`),
      )
      .slice(-15);
    throw new Error(
      `Folders did not converge within ${timeoutMs} ms: ${last}\n${warnings.join('\n')}`,
    );
  }
  return result;
}

/**
 * The text of a file, or null while it is absent: a file replaced by the sync is briefly
 * missing (moved aside into the trash, then the new one linked in without replacing).
 */
async function textAt(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function metric(node: ClusterNode, name: string): Promise<number> {
  const text = await (await (await node.api()).fetch('/metrics')).text();
  const m = new RegExp(`^${name}\\{folder="folder"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

beforeAll(async () => {
  roots = [];
  const initial = new Map<string, string>();
  for (let i = 0; i < 4; i++) {
    const root = join(await makeTempDir(`mosaic-folder-n${i + 1}-`), 'folder');
    await mkdir(join(root, `nested-${i}`, 'deep'), { recursive: true });
    await writeFile(join(root, `nested-${i}`, 'deep', `file-${i}.txt`), `node ${i}\n`);
    await writeFile(join(root, `empty-${i}.txt`), '');
    await mkdir(join(root, `empty-dir-${i}`));
    roots.push(root);
    initial.set(`file-${i}`, root);
  }
  await writeFile(join(roots[0] ?? '', 'big.bin'), randomBytes(50 * 1024 * 1024));
  cluster = new TestCluster({ syncIntervalMs: 500, folders: roots });
  n = await cluster.startAll(4);
});

// A test that fails while partitioned must not leave the next one partitioned.
afterEach(async () => {
  await cluster.heal();
});

afterAll(async () => {
  await cleanup();
});

describe('folder sync across 4 nodes', () => {
  it("converges to the union of every node's files, with empty files and directories, mtimes kept", async () => {
    const t = await converged(roots, {
      expect: (tr) => tr.has('big.bin') && tr.has('empty-dir-3'),
    });
    for (let i = 0; i < 4; i++) {
      expect(t.get(`nested-${i}/deep/file-${i}.txt`)).toBe(
        createHash('sha256').update(`node ${i}\n`).digest('hex'),
      );
      expect(t.get(`empty-${i}.txt`)).toBe(createHash('sha256').update('').digest('hex'));
      expect(t.get(`empty-dir-${i}`)).toBe('dir');
    }
    const [a, b] = await Promise.all([
      stat(join(roots[0] ?? '', 'big.bin')),
      stat(join(roots[3] ?? '', 'big.bin')),
    ]);
    expect(Math.floor(b.mtimeMs)).toBe(Math.floor(a.mtimeMs));
    const second = n[1] as ClusterNode;
    const status = await (
      await second.api()
    ).get<{ id: string; state: string; needFiles: number }[]>('/api/folders');
    expect(status.body[0]).toMatchObject({ id: 'folder', needFiles: 0 });
    // Each pull that wrote something says so with the folder's totals (what an operator, and
    // bench:folder, reads of a sync's progress): at last the files `/api/folders` counts.
    const files = (await (await second.api()).get<{ files: number }[]>('/api/folders')).body[0];
    const pulled = await second.node.waitForLog(
      (l) => l.msg === 'folder pulled' && l['files'] === files?.files && l['needFiles'] === 0,
    );
    expect(pulled).toMatchObject({ folder: 'folder', level: 30 });
    expect(typeof pulled['ms']).toBe('number');
  });

  it('propagates edits, deletes, and the rename of a 1000-file directory without fetching it again', async () => {
    const [r1, r2, r3, r4] = roots as [string, string, string, string];
    await mkdir(join(r1, 'many'));
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        writeFile(join(r1, 'many', `f${i}.txt`), `content ${i} ${'x'.repeat(4000)}`),
      ),
    );
    await converged(roots, { expect: (t) => t.has('many/f999.txt') });

    const fetchedBefore = await Promise.all(
      n.map((node) => metric(node, 'mosaic_folder_fetched_bytes_total')),
    );
    const movesBefore = await Promise.all(
      n.map((node) => metric(node, 'mosaic_folder_local_moves_total')),
    );
    await rename(join(r2, 'many'), join(r2, 'renamed'));
    await writeFile(join(r3, 'nested-0', 'deep', 'file-0.txt'), 'edited at n3\n');
    await rm(join(r4, 'empty-1.txt'));
    const t = await converged(roots, {
      expect: (tr) =>
        tr.has('renamed/f999.txt') && !tr.has('many/f0.txt') && !tr.has('empty-1.txt'),
    });
    expect(t.get('nested-0/deep/file-0.txt')).toBe(
      createHash('sha256').update('edited at n3\n').digest('hex'),
    );
    const fetchedAfter = await Promise.all(
      n.map((node) => metric(node, 'mosaic_folder_fetched_bytes_total')),
    );
    const moved = fetchedAfter.reduce((s, v, i) => s + v - (fetchedBefore[i] ?? 0), 0);
    // 1000 files of ~4 KB moved on 3 nodes would be ~12 MB; only the edited file travels.
    expect(moved).toBeLessThan(10_000);
    // ... and the other nodes moved their files rather than copying them.
    const movesAfter = await Promise.all(
      n.map((node) => metric(node, 'mosaic_folder_local_moves_total')),
    );
    expect(movesAfter.reduce((s, v, i) => s + v - (movesBefore[i] ?? 0), 0)).toBe(3000);
    // Deleted and replaced files went to the trash, not away.
    expect(existsSync(join(r1, '.mosaic', 'trash'))).toBe(true);
  });

  it('keeps both versions of a file edited on two sides of a partition: same winner and one copy everywhere', async () => {
    const [n1, n2, n3, n4] = n as [ClusterNode, ClusterNode, ClusterNode, ClusterNode];
    const [r1, , r3] = roots as [string, string, string, string];
    await writeFile(join(r1, 'shared.txt'), 'base\n');
    await converged(roots, { expect: (t) => t.has('shared.txt') });
    await cluster.partition([n1, n2], [n3, n4]);
    await writeFile(join(r1, 'shared.txt'), 'left side\n');
    await waitFor(async () => (await textAt(join(roots[1] ?? '', 'shared.txt'))) === 'left side\n');
    await writeFile(join(r3, 'shared.txt'), 'right side, later\n');
    await waitFor(
      async () => (await textAt(join(roots[3] ?? '', 'shared.txt'))) === 'right side, later\n',
    );
    await cluster.heal();
    const t = await converged(roots, {
      expect: (tr) => [...tr.keys()].some((p) => p.startsWith('shared.sync-conflict-')),
    });
    const copies = [...t.keys()].filter((p) => p.startsWith('shared.sync-conflict-'));
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatch(/^shared\.sync-conflict-\d{8}-\d{6}-n1-[0-9a-f]{8}\.txt$/);
    expect(await readFile(join(r1, 'shared.txt'), 'utf8')).toBe('right side, later\n');
    expect(await readFile(join(r1, copies[0] ?? ''), 'utf8')).toBe('left side\n');
  });

  it('a modification beats a concurrent delete', async () => {
    const [n1, n2, n3, n4] = n as [ClusterNode, ClusterNode, ClusterNode, ClusterNode];
    const [r1, , r3] = roots as [string, string, string, string];
    await writeFile(join(r1, 'keep.txt'), 'v1\n');
    await converged(roots, { expect: (t) => t.has('keep.txt') });
    await cluster.partition([n1, n2], [n3, n4]);
    await writeFile(join(r3, 'keep.txt'), 'edited while the other side deleted it\n');
    await rm(join(r1, 'keep.txt'));
    await waitFor(async () => !existsSync(join(roots[1] ?? '', 'keep.txt')));
    await cluster.heal();
    const t = await converged(roots, { expect: (tr) => tr.has('keep.txt') });
    expect(t.get('keep.txt')).toBe(
      createHash('sha256').update('edited while the other side deleted it\n').digest('hex'),
    );
  });

  it('refuses a peer operation whose path leaves the folder', async () => {
    const target = n[1] as ClusterNode;
    const outside = await makeTempDir('mosaic-outside-');
    const evilName = `evil-${randomBytes(4).toString('hex')}`;
    const content = 'node 2\n';
    const hash = createHash('sha256').update(content).digest('hex');
    const paths = [
      `../../${evilName}`,
      `${outside}/${evilName}`,
      `a/../../${evilName}`,
      `a\\..\\..\\${evilName}`,
      `C:/${evilName}`,
    ];
    const ops = paths.map((path, i) => ({
      origin: 'ffffffffffffffff',
      seq: i + 1,
      hlc: `${String(Date.now()).padStart(16, '0')}-000${i}-ffffffffffffffff`,
      body: {
        kind: 'file.put',
        folder: 'folder',
        path,
        entry: 'file',
        deleted: false,
        hash,
        size: content.length,
        mtimeMs: Date.now(),
        vv: { ffffffffffffffff: 1 },
        originName: 'evil',
      },
    }));
    const body = JSON.stringify({ ops });
    const headers = signRequest(cluster.key, {
      method: 'POST',
      path: '/peer/ops',
      nodeId: 'ffffffffffffffff',
      url: '',
      to: await nodeIdAt(target.node.url, cluster.key),
      body,
    });
    const res = await fetch(`${target.node.url}/peer/ops`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    expect(res.status).toBe(200);
    // Give the node time to (not) act: a later ordinary change arrives everywhere first.
    await writeFile(join(roots[0] ?? '', 'after-evil.txt'), 'x');
    await converged(roots, { expect: (t) => t.has('after-evil.txt') });
    for (const root of roots) {
      expect(existsSync(join(root, '..', '..', evilName))).toBe(false);
      expect(existsSync(join(root, '..', evilName))).toBe(false);
      expect([...(await folderTree(root)).keys()].some((p) => p.includes(evilName))).toBe(false);
    }
    expect(existsSync(join(outside, evilName))).toBe(false);
  });

  it('pauses a folder whose root disappears; the other nodes keep their files', async () => {
    const n4 = n[3] as ClusterNode;
    const [r1, r2, r3, r4] = roots as [string, string, string, string];
    const before = await folderTree(r1);
    await rm(r4, { recursive: true, force: true });
    await waitFor(
      async () =>
        (await (await n4.api()).get<{ state: string }[]>('/api/folders')).body[0]?.state ===
        'paused',
      { timeoutMs: 40_000, what: 'the folder to pause' },
    );
    // Sync among the others goes on, and nothing was deleted there.
    await writeFile(join(r1, 'still-syncing.txt'), 'yes');
    const t = await converged([r1, r2, r3], { expect: (tr) => tr.has('still-syncing.txt') });
    for (const path of before.keys()) expect(t.has(path)).toBe(true);
  });
});
