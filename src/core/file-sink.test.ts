import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINK_BUFFER_BYTES, fileSink } from './file-sink.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-sink-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `total` bytes of a recognisable pattern, cut into chunks of the given sizes (cycled). */
function chunked(total: number, sizes: readonly number[], seed: number): Buffer[] {
  const bytes = Buffer.alloc(total);
  for (let i = 0; i < total; i++) bytes[i] = (i * 31 + seed) & 0xff;
  const chunks: Buffer[] = [];
  for (let at = 0, k = 0; at < total; k++) {
    const size = Math.max(1, sizes[k % sizes.length] ?? 1);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe('fileSink', () => {
  it('lands every byte in order, however the stream is cut (across the ring several times)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 4 * SINK_BUFFER_BYTES + 777 }),
        fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 6 }),
        async (total, sizes) => {
          const file = join(dir, `whole-${n++}`);
          const chunks = chunked(total, sizes, n);
          // Background fdatasyncs after every buffer: they overlap the writes that follow.
          const sink = fileSink(file, { flush: true, syncEveryBytes: SINK_BUFFER_BYTES });
          await pipeline(Readable.from(chunks), sink);
          expect((await readFile(file)).equals(Buffer.concat(chunks, total))).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('writes from `start` into an existing file and keeps what is before (a resumed fetch)', async () => {
    const file = join(dir, 'resumed');
    await writeFile(file, Buffer.alloc(1000, 'a'));
    const tail = chunked(SINK_BUFFER_BYTES + 5, [65_536], 7);
    await pipeline(Readable.from(tail), fileSink(file, { flags: 'r+', start: 600 }));
    const after = await readFile(file);
    expect(after.length).toBe(600 + SINK_BUFFER_BYTES + 5);
    expect(after.subarray(0, 600).equals(Buffer.alloc(600, 'a'))).toBe(true);
    expect(after.subarray(600).equals(Buffer.concat(tail))).toBe(true);
  });

  it('fails the pipeline when the file cannot be opened, and when the source fails (keeping a prefix)', async () => {
    await expect(
      pipeline(Readable.from([Buffer.from('x')]), fileSink(join(dir, 'no', 'such', 'dir'))),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    // 2.5 buffers' worth, then the peer goes away: what was written is a prefix of what came
    // (a later attempt resumes from the file's size), never a file with a hole.
    const sent = chunked(2 * SINK_BUFFER_BYTES + SINK_BUFFER_BYTES / 2, [65_536], 3);
    let next = 0;
    const failing = new Readable({
      read() {
        const chunk = sent[next++];
        if (chunk === undefined) this.destroy(new Error('the peer went away'));
        else this.push(chunk);
      },
    });
    await expect(pipeline(failing, fileSink(join(dir, 'cut')))).rejects.toThrow(
      'the peer went away',
    );
    const kept = await readFile(join(dir, 'cut'));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.equals(Buffer.concat(sent).subarray(0, kept.length))).toBe(true);
  });
});
