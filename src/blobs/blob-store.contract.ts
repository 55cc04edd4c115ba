/**
 * The one contract every BlobStore adapter passes (run by local-blob-store.test.ts and, against
 * a real OpenStack Swift with s3api, by test/node/s3-blob-store.test.ts). It states what
 * callers rely on, through the port only: no adapter's files or keys are looked at.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError, NotFoundError, PayloadTooLargeError } from '../core/errors.js';
import { BlobBatchError, receiveBlobBatch, type WholeBlob } from './blob-batch.js';
import type { BlobStore, LocalBytes } from './blob-store.js';

export interface ContractSubject {
  readonly store: BlobStore;
  /** A second store on the same storage, as after a restart (or another process of a site). */
  reopen(): Promise<BlobStore>;
  cleanup(): Promise<void>;
}

/** Bytes that differ per call, so that tests never see each other's blobs. */
function bytesOf(size: number): Buffer {
  const seed = createHash('sha256').update(`${Math.random()}${process.hrtime.bigint()}`).digest();
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += seed.length) seed.copy(out, i, 0, Math.min(32, size - i));
  out.writeDoubleLE(Math.random(), 0);
  return out;
}

/** What a decoder would read from `bytes` (a LocalBytes' buffer, or its file's contents). */
async function decoderSees(bytes: LocalBytes): Promise<Buffer> {
  return 'buffer' in bytes ? bytes.buffer : readFile(bytes.file);
}

function sha(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function chunked(bytes: Buffer, chunk = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  return Readable.from(parts);
}

/** A source that fails after `after` bytes, like a peer connection cut mid-way. */
function cutAfter(bytes: Buffer, after: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) return;
      sent = true;
      this.push(bytes.subarray(0, after));
      setTimeout(() => this.destroy(new Error('connection reset')), 50);
    },
  });
}

/** Every hash `ids()` lists, in the order it lists them. */
async function listed(store: BlobStore): Promise<string[]> {
  const hashes: string[] = [];
  for await (const hash of store.ids()) hashes.push(hash);
  return hashes;
}

async function put(store: BlobStore, bytes: Buffer): Promise<string> {
  const staged = await store.stage(chunked(bytes), bytes.length + 1);
  await store.commit(staged);
  return staged.hash;
}

export function blobStoreContract(
  name: string,
  open: () => Promise<ContractSubject>,
  options: { readonly largeBytes: number },
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: BlobStore;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it('names a blob by the SHA-256 of its bytes; it is invisible until committed', async () => {
      const bytes = bytesOf(1000);
      const staged = await store.stage(chunked(bytes), 10_000);
      expect(staged.hash).toBe(sha(bytes));
      expect(staged.size).toBe(1000);
      expect(await store.has(staged.hash)).toBe(false);
      expect((await buffer(store.readStaged(staged))).equals(bytes)).toBe(true);
      await store.commit(staged);
      expect(await store.has(staged.hash)).toBe(true);
      expect(await store.size(staged.hash)).toBe(1000);
      expect((await buffer(await store.read(staged.hash))).equals(bytes)).toBe(true);
    });

    it('hands a decoder the staged bytes, and a blob it holds on this machine, as they are', async () => {
      // Large enough to be staged in a file by every adapter, and small enough for memory.
      for (const size of [1000, options.largeBytes]) {
        const bytes = bytesOf(size);
        const staged = await store.stage(chunked(bytes), size + 1);
        expect((await decoderSees(store.stagedBytes(staged))).equals(bytes)).toBe(true);
        await store.commit(staged);
        const local = await store.localBytes(staged.hash);
        // An adapter without the bytes on this machine says null (they are read instead).
        if (local !== null) expect((await decoderSees(local)).equals(bytes)).toBe(true);
        await store.trash(staged.hash);
        expect(await store.localBytes(staged.hash)).toBeNull();
      }
      expect(await store.localBytes(sha(Buffer.from('never stored')))).toBeNull();
    });

    it('stores the same bytes once: a second commit is harmless', async () => {
      const bytes = bytesOf(5000);
      const first = await put(store, bytes);
      const again = await put(store, bytes);
      expect(again).toBe(first);
      expect((await buffer(await store.read(first))).equals(bytes)).toBe(true);
    });

    it('two stores (processes) committing the same bytes at once both succeed', async () => {
      const bytes = bytesOf(200_000);
      const other = await subject.reopen();
      const [a, b] = await Promise.all([
        store.stage(chunked(bytes), 1_000_000),
        other.stage(chunked(bytes), 1_000_000),
      ]);
      await Promise.all([store.commit(a), other.commit(b)]);
      expect(sha(await buffer(await store.read(a.hash)))).toBe(a.hash);
      expect(await other.size(a.hash)).toBe(bytes.length);
    });

    it('a discarded upload leaves nothing visible', async () => {
      const bytes = bytesOf(2000);
      const staged = await store.stage(chunked(bytes), 10_000);
      await store.discard(staged);
      expect(await store.has(staged.hash)).toBe(false);
      expect(await store.size(staged.hash)).toBe(null);
    });

    it('stops at the limit with PayloadTooLargeError and keeps nothing', async () => {
      const bytes = bytesOf(300_000);
      await expect(store.stage(chunked(bytes), 100_000)).rejects.toBeInstanceOf(
        PayloadTooLargeError,
      );
      expect(await store.has(sha(bytes))).toBe(false);
    });

    it('an upload in progress when the process dies is gone after a restart', async () => {
      const bytes = bytesOf(1000);
      const staged = await store.stage(chunked(bytes), 10_000);
      const reopened = await subject.reopen();
      expect(await reopened.has(staged.hash)).toBe(false);
      await expect(buffer(reopened.readStaged(staged))).rejects.toThrow();
    });

    it('reads byte ranges (inclusive) and says NotFound for an absent blob', async () => {
      const bytes = bytesOf(100_000);
      const hash = await put(store, bytes);
      const part = await buffer(await store.read(hash, { start: 10, end: 99 }));
      expect(part.equals(bytes.subarray(10, 100))).toBe(true);
      const tail = await buffer(await store.read(hash, { start: 99_990, end: 99_999 }));
      expect(tail.equals(bytes.subarray(99_990))).toBe(true);
      await expect(store.read(sha(bytesOf(10)))).rejects.toBeInstanceOf(NotFoundError);
    });

    it('reads a whole blob into one buffer, and none that is absent, trashed or too long', async () => {
      const bytes = bytesOf(300_000);
      const hash = await put(store, bytes);
      expect((await store.readWhole(hash, bytes.length))?.equals(bytes)).toBe(true);
      expect(await store.readWhole(hash, bytes.length - 1)).toBeNull();
      const empty = await put(store, Buffer.alloc(0));
      expect((await store.readWhole(empty, 10))?.length).toBe(0);
      expect(await store.readWhole(sha(bytesOf(10)), 1_000_000)).toBeNull();
      await store.trash(hash);
      expect(await store.readWhole(hash, bytes.length)).toBeNull();
      // Another process of the site reads what this one stored (S3: not from its cache).
      expect(await store.restore(hash)).toBe(true);
      const other = await subject.reopen();
      expect((await other.readWhole(hash, bytes.length))?.equals(bytes)).toBe(true);
    });

    it(`stores a large blob (${options.largeBytes} bytes) whole, and reads a range across it`, async () => {
      const bytes = bytesOf(options.largeBytes);
      const hash = await put(store, bytes);
      expect(await store.size(hash)).toBe(bytes.length);
      const start = Math.floor(bytes.length / 2) - 7;
      const part = await buffer(await store.read(hash, { start, end: start + 99_999 }));
      expect(part.equals(bytes.subarray(start, start + 100_000))).toBe(true);
      expect(sha(await buffer(await store.read(hash)))).toBe(hash);
      await store.trash(hash);
      expect(await store.restore(hash)).toBe(true);
      expect(sha(await buffer(await store.read(hash)))).toBe(hash);
    });

    it('resumes an interrupted peer fetch from what it kept, across a restart', async () => {
      const bytes = bytesOf(300_000);
      const hash = sha(bytes);
      await expect(
        store.receive(hash, bytes.length, cutAfter(bytes, 120_000), 0),
      ).rejects.toThrow();
      expect(await store.has(hash)).toBe(false);
      const reopened = await subject.reopen();
      const kept = await reopened.partialSize(hash);
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThanOrEqual(120_000);
      await reopened.receive(hash, bytes.length, chunked(bytes.subarray(kept)), kept);
      expect(await reopened.has(hash)).toBe(true);
      expect(sha(await buffer(await reopened.read(hash)))).toBe(hash);
      expect(await reopened.partialSize(hash)).toBe(0);
    });

    it('refuses fetched bytes that do not match their hash, and starts over next time', async () => {
      const bytes = bytesOf(50_000);
      const wrong = sha(bytesOf(50_000));
      await expect(store.receive(wrong, bytes.length, chunked(bytes), 0)).rejects.toThrow(
        /verification/,
      );
      expect(await store.has(wrong)).toBe(false);
      expect(await store.partialSize(wrong)).toBe(0);
      const hash = sha(bytes);
      await expect(store.receive(hash, 10, chunked(bytes), 0)).rejects.toThrow(/longer/);
      expect(await store.has(hash)).toBe(false);
    });

    it("stores a batch, and lets the caller reuse a blob's buffer only once it is written", async () => {
      const good = [bytesOf(30_000), bytesOf(70_000), bytesOf(8)];
      const refused = { hash: sha(bytesOf(100)), data: bytesOf(100) };
      const released: string[] = [];
      async function* batch(blobs: readonly { hash: string; data: Buffer }[]) {
        for (const blob of blobs) {
          const item: WholeBlob = { ...blob, release: () => released.push(blob.hash) };
          yield await Promise.resolve(item);
        }
      }
      const items = good.map((data) => ({ hash: sha(data), data }));
      expect(new Set(await receiveBlobBatch(store, batch(items)))).toEqual(
        new Set(items.map((i) => i.hash)),
      );
      expect(released.sort()).toEqual(items.map((i) => i.hash).sort());
      for (const { hash, data } of items) {
        expect(await buffer(await store.read(hash))).toEqual(data);
      }
      // Bytes that do not hash to their name fail the batch: never stored, never released.
      released.length = 0;
      const next = bytesOf(20_000);
      const failed = await receiveBlobBatch(
        store,
        batch([{ hash: sha(next), data: next }, refused]),
      ).catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(BlobBatchError);
      expect(await store.has(refused.hash)).toBe(false);
      expect(released).not.toContain(refused.hash);
      expect(released.every((hash) => (failed as BlobBatchError).stored.includes(hash))).toBe(true);
    });

    it('refuses a source destroyed before its end at once, keeping nothing', async () => {
      const source = new Readable({ read() {} });
      source.push(Buffer.from('partial'));
      source.destroy();
      await expect(store.stage(source, 10_000)).rejects.toBeInstanceOf(BadRequestError);
      expect(await listed(store)).toEqual([]);
    });

    it('lists the hashes of the committed blobs, not staged, trashed or named ones', async () => {
      expect(await listed(store)).toEqual([]);
      const kept = await put(store, bytesOf(1000));
      const trashed = await put(store, bytesOf(2000));
      await store.trash(trashed);
      await store.stage(chunked(bytesOf(3000)), 10_000);
      await store.putNamed('thumb.webp', Buffer.from('x'));
      expect(await listed(store)).toEqual([kept]);
    });

    it('lists them in ascending order (merged with the metadata rows in id order)', async () => {
      const hashes: string[] = [];
      for (let i = 1; i <= 12; i++) hashes.push(await put(store, bytesOf(100 * i)));
      expect(await listed(store)).toEqual([...hashes].sort());
    });

    it('moves deleted bytes to the trash, restores them, and sweeps them after the retention', async () => {
      const bytes = bytesOf(1000);
      const hash = await put(store, bytes);
      await store.trash(hash);
      expect(await store.has(hash)).toBe(false);
      await store.trash(hash); // already gone: a no-op
      expect(await store.restore(hash)).toBe(true);
      expect((await buffer(await store.read(hash))).equals(bytes)).toBe(true);
      await store.trash(hash);
      const now = Date.now();
      expect(await store.sweepTrash(3600_000, now)).not.toContain(hash);
      expect(await store.sweepTrash(3600_000, now + 2 * 3600_000)).toContain(hash);
      expect(await store.restore(hash)).toBe(false);
      expect(await store.has(hash)).toBe(false);
    });

    it('empties one trashed blob now, and only one in the trash', async () => {
      const bytes = bytesOf(700);
      const hash = await put(store, bytes);
      expect(await store.purgeTrashed(hash)).toBe(false); // not in the trash: kept
      expect(await store.has(hash)).toBe(true);
      await store.trash(hash);
      expect(await store.purgeTrashed(hash)).toBe(true);
      expect(await store.restore(hash)).toBe(false);
      expect(await store.purgeTrashed(hash)).toBe(false);
    });

    it('keeps named objects (thumbnails): put replaces, read, remove', async () => {
      const name = `${sha(bytesOf(8))}.small.webp`;
      expect(await store.hasNamed(name)).toBe(false);
      expect(await store.readNamed(name)).toBe(null);
      await store.putNamed(name, Buffer.from('one'));
      await store.putNamed(name, Buffer.from('two'));
      expect(await store.hasNamed(name)).toBe(true);
      const stream = await store.readNamed(name);
      expect(stream && (await buffer(stream)).toString()).toBe('two');
      await store.removeNamed(name);
      await store.removeNamed(name);
      expect(await store.hasNamed(name)).toBe(false);
    });

    it('answers a health probe', async () => {
      await expect(store.probe()).resolves.toBeUndefined();
    });

    it('refuses names that are not SHA-256 digests or safe object names', async () => {
      await expect(store.has('../../etc/passwd')).rejects.toThrow();
      await expect(store.read('A'.repeat(64))).rejects.toThrow();
      await expect(store.putNamed('../x', Buffer.from('x'))).rejects.toThrow();
      await expect(store.readNamed('a/b')).rejects.toThrow();
    });
  });
}
