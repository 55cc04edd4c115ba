/**
 * A peer's bytes are checked against the SHA-256 a pull asked for before anything is made of
 * them (small-writes.ts, temp-writes.ts): on the pool inside the batch write (native/beneath),
 * or on the JavaScript thread by direct calls. A wrong file is told to the host, never written,
 * placed or counted, and the files around it are placed as usual.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchesOnPool } from './beneath-batch.js';
import { placeEach } from './place-each.js';
import { SETTLE_EVERY, SmallWrites } from './small-writes.js';
import { sha256Hex } from './testing.js';

type Host = ConstructorParameters<typeof SmallWrites>[0];
type Wanted = Parameters<SmallWrites['add']>[0];

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'mosaic-small-verify-'));
  await mkdir(join(root, '.mosaic', 'tmp'), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const WAYS = [
  ['on the pool', true],
  ['by direct calls', false],
] as const;

describe.each(WAYS)('small files verified before they are written (%s)', (_way, onPool) => {
  it.runIf(!onPool || batchesOnPool())(
    'makes nothing of a file whose bytes are not the ones asked for, and places the rest',
    async () => {
      const wrong: string[] = [];
      const placed = new Map<string, string>();
      let writtenBytes = 0;
      const host: Host = {
        root,
        aboutToPlace: () => {},
        placeAll: (files) =>
          placeEach(
            files,
            async (f) => {
              placed.set(f.wanted.row.path, await readFile(f.tmp, 'utf8'));
              await rm(f.tmp);
            },
            (wanted) => {
              throw new Error(`${wanted.row.path} dropped`);
            },
          ),
        wrongContent: (wanted) => {
          wrong.push(wanted.row.path);
        },
        failed: (_wanted, error) => {
          throw error;
        },
        written: (bytes) => {
          writtenBytes += bytes;
        },
      };
      const writes = new SmallWrites(host, null, () => 0, onPool);
      // More than a batch, so that wrong files fall in a group of the pool and in a batch's
      // flush; every 7th file's bytes differ from what was asked for by their last byte.
      const count = SETTLE_EVERY + 40;
      let expectedBytes = 0;
      for (let i = 0; i < count; i++) {
        const asked = Buffer.from(`file ${i} of the pull`);
        const sent = i % 7 === 3 ? Buffer.from(`file ${i} of the pulL`) : asked;
        if (sent === asked) expectedBytes += asked.length;
        const row = { path: `f${i}`, mtimeMs: 1_700_000_000_000, size: asked.length };
        const wanted = { row, target: join(root, row.path), hash: sha256Hex(asked) };
        await writes.add(wanted as Wanted, sent);
      }
      await writes.settle();
      const wrongOnes = Array.from({ length: count }, (_, i) => i)
        .filter((i) => i % 7 === 3)
        .map((i) => `f${i}`);
      expect(wrong.sort()).toEqual(wrongOnes.sort());
      expect(placed.size).toBe(count - wrongOnes.length);
      for (const path of wrongOnes) expect(placed.has(path)).toBe(false);
      expect(placed.get('f0')).toBe('file 0 of the pull');
      expect(placed.get(`f${count - 1}`)).toBe(`file ${count - 1} of the pull`);
      expect(writtenBytes).toBe(expectedBytes);
      // No temp file of a wrong one (nor of any other) is left behind.
      expect(await readdir(join(root, '.mosaic', 'tmp'))).toEqual([]);
      expect(existsSync(join(root, 'f3'))).toBe(false);
    },
  );
});
