/**
 * A folder transfer that could stall for good (issue 11, cause 6): files whose mtime lies just
 * below a whole millisecond (ns part > 999 878) read one millisecond later through
 * `Stats.mtimeMs` (a double) than the scanner records from the nanoseconds, so the sender took
 * them for changed files and refused to serve them, forever and silently. Two real nodes; every
 * file must arrive. Waits on conditions, never fixed sleeps.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { cleanup, makeTempDir, waitFor } from '../helpers/node-process.js';

const EDGE = 20;
const PLAIN = 200;

afterAll(async () => {
  await cleanup();
});

async function contents(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(root)).filter((n) => n.endsWith('.txt')).sort()) {
    const bytes = await readFile(join(root, name)).catch(() => null);
    if (bytes) out.set(name, createHash('sha256').update(bytes).digest('hex'));
  }
  return out;
}

describe('a folder transfer', () => {
  it('brings files whose mtime is just below a whole millisecond', async () => {
    const roots: string[] = [];
    for (let i = 0; i < 2; i++) {
      const root = join(await makeTempDir(`mosaic-stall-n${i + 1}-`), 'folder');
      await mkdir(root, { recursive: true });
      roots.push(root);
    }
    const [root1, root2] = roots as [string, string];
    for (let i = 0; i < PLAIN; i++) await writeFile(join(root1, `plain-${i}.txt`), `plain ${i}\n`);
    for (let i = 0; i < EDGE; i++) {
      const file = join(root1, `edge-${i}.txt`);
      await writeFile(file, `edge ${i}\n`);
      execFileSync('touch', ['-d', `@${1_700_000_000 + i}.123999999`, file]);
    }
    const cluster = new TestCluster({ syncIntervalMs: 500, folders: roots });
    await cluster.startAll(2);
    const want = await contents(root1);
    expect(want.size).toBe(EDGE + PLAIN);
    let have = 0;
    await waitFor(
      async () => {
        const got = await contents(root2);
        have = got.size;
        return [...want].every(([name, hash]) => got.get(name) === hash);
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'every file at n2' },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: ${have} of ${want.size} arrived`);
    });
  }, 120_000);
});
