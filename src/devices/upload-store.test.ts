import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { frameHeader } from '../folders/content-frames.js';
import { readUploadFrames } from './upload-store.js';

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
