import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.js';
import { Faults } from '../faults/faults.js';
import { frameHeader } from '../folders/content-frames.js';
import { ensureMarker } from '../folders/marker.js';
import { FolderIndexRepository } from '../folders/folder-index.repository.js';
import { localOf } from '../folders/testing.js';
import { readUploadFrames, UploadStore } from './upload-store.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function collect(chunks: Buffer[]): Promise<string[]> {
  const out: string[] = [];
  async function* source() {
    yield* chunks;
  }
  for await (const f of readUploadFrames(source())) out.push(f.data.toString());
  return out;
}

describe('readUploadFrames', () => {
  const a = Buffer.from('alpha');
  const b = Buffer.from('bravo');

  it('reads frames split anywhere across chunks', async () => {
    const all = Buffer.concat([frameHeader(sha(a), 5), a, frameHeader(sha(b), 5), b]);
    const chunks = [...all].map((byte) => Buffer.from([byte]));
    expect(await collect(chunks)).toEqual(['alpha', 'bravo']);
  });

  it('skips frames marked not available and frames whose bytes do not match their hash', async () => {
    const body = Buffer.concat([
      frameHeader(sha(a), null),
      frameHeader(sha(a), 5),
      b,
      frameHeader(sha(b), 5),
      b,
    ]);
    expect(await collect([body])).toEqual(['bravo']);
  });

  it('refuses a truncated batch and an oversized frame', async () => {
    const cut = Buffer.concat([frameHeader(sha(a), 5), a.subarray(0, 2)]);
    await expect(collect([cut])).rejects.toThrow(/ended early/);
    await expect(collect([frameHeader(sha(a), 64 * 1024 * 1024)])).rejects.toThrow(/Bad frame/);
  });
});

describe('UploadStore', () => {
  it('resumes at the offset it holds, keeps only a verified whole, and sweeps what is old', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mosaic-uploads-'));
    try {
      await ensureMarker(root, 'docs');
      const db = openDatabase(':memory:');
      const store = new UploadStore(new FolderIndexRepository(localOf(db)), Faults.none());
      const data = Buffer.from('0123456789');
      const hash = sha(data);
      expect(
        await store.receive('docs', root, hash, 10, 0, Readable.from([data.subarray(0, 4)])),
      ).toEqual({ received: 4, complete: false });
      await expect(
        store.receive('docs', root, hash, 10, 2, Readable.from([data.subarray(2)])),
      ).rejects.toThrow(/at byte 4/);
      expect(
        await store.receive('docs', root, hash, 10, 4, Readable.from([data.subarray(4)])),
      ).toEqual({ received: 10, complete: true });
      const dir = join(root, '.mosaic', 'uploads');
      expect(await readdir(dir)).toEqual([hash]);
      const rows = db.prepare('SELECT hash FROM folder_trash').pluck().all();
      expect(rows).toEqual([hash]);

      const wrong = sha(Buffer.from('other'));
      await expect(
        store.receive('docs', root, wrong, 10, 0, Readable.from([data])),
      ).rejects.toThrow(/SHA-256/);
      expect(await readdir(dir)).toEqual([hash]);

      const old = (Date.now() - 10 * 24 * 3600 * 1000) / 1000;
      await utimes(join(dir, hash), old, old);
      await writeFile(join(dir, `${wrong}.part`), 'recent');
      expect(await store.sweep('docs', root, 7 * 24 * 3600 * 1000)).toBe(1);
      expect(await readdir(dir)).toEqual([`${wrong}.part`]);
      expect(db.prepare('SELECT COUNT(*) FROM folder_trash').pluck().get()).toBe(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('takes no upload into a paused folder (no marker), and creates nothing there', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mosaic-uploads-'));
    try {
      await mkdir(join(root, 'sub'));
      const store = new UploadStore(
        new FolderIndexRepository(localOf(openDatabase(':memory:'))),
        Faults.none(),
      );
      const data = Buffer.from('x');
      await expect(
        store.receive('docs', root, sha(data), 1, 0, Readable.from([data])),
      ).rejects.toThrow(/paused/);
      expect(await readdir(root)).toEqual(['sub']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
