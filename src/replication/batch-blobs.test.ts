import { describe, expect, it } from 'vitest';
import type { BlobFrame } from '../blobs/blob-frames.js';
import { NO_FACTS, type PhotoFacts } from '../pictures/core/photo-facts.js';
import { BatchBlobs } from './batch-blobs.js';

async function* framesOf(frames: readonly BlobFrame[]): AsyncGenerator<BlobFrame> {
  for (const frame of frames) yield await Promise.resolve(frame);
}

describe('BatchBlobs', () => {
  it("reuses a blob's buffer only once the store has written it and its facts are read", async () => {
    const batch = new BatchBlobs();
    const data = batch.allocate(1000).fill(7);
    let factsRead: (facts: PhotoFacts) => void = () => {};
    const reading = new Promise<PhotoFacts>((resolve) => {
      factsRead = resolve;
    });
    const facts = new Map<string, Promise<PhotoFacts | null>>();
    const blobs = batch.present(
      framesOf([
        { hash: 'a'.repeat(64), data },
        { hash: 'b'.repeat(64), data: null },
      ]),
      new Map([['a'.repeat(64), 'image/jpeg']]),
      facts,
      { ofBytes: () => reading },
    );
    const got = [];
    for await (const blob of blobs) got.push(blob);
    expect(got.map((b) => b.hash)).toEqual(['a'.repeat(64)]);
    expect(got[0]?.data).toBe(data);
    expect(got[0]?.verified).toBe(true);

    // Written by the store, facts still being read: not reused.
    got[0]?.release?.();
    expect(batch.allocate(1000).buffer).not.toBe(data.buffer);
    factsRead(NO_FACTS);
    expect(await facts.get('a'.repeat(64))).toBe(NO_FACTS);
    // Both done: the next blob's bytes go into the same memory.
    expect(batch.allocate(500).buffer).toBe(data.buffer);
  });

  it('never reuses the buffer of a blob the store did not write', async () => {
    const batch = new BatchBlobs();
    const data = batch.allocate(1000);
    const blobs = batch.present(
      framesOf([{ hash: 'a'.repeat(64), data }]),
      new Map(),
      new Map(),
      undefined,
    );
    for await (const blob of blobs) expect(blob.data).toBe(data); // no release: a failed write
    expect(batch.allocate(1000).buffer).not.toBe(data.buffer);
  });

  it('gives blobs larger than its buffers new memory', () => {
    const batch = new BatchBlobs();
    const large = batch.allocate(1024 * 1024);
    expect(large.length).toBe(1024 * 1024);
    expect(large.buffer.byteLength).toBeGreaterThanOrEqual(1024 * 1024);
  });
});
