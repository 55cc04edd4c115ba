/**
 * A batch of small files sent as frames over real HTTP (sendFrames): the chunks a response is
 * written into go back to the pool only once that response has gone out whole. The unsafe moment
 * is a response whose frames are all written while its last chunks still wait in the process (a
 * slow socket, or here the MOSAIC_FAULTS throttle of tests of slow transfers): a chunk given back
 * then would be filled again by the next response before it is sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BufferPool } from '../../core/buffer-pool.js';
import { Faults } from '../../faults/faults.js';
import {
  FRAME_CHUNK_SIZE,
  FrameChunks,
  readFrames,
  writeFrames,
} from '../../folders/content-frames.js';
import { sendFrames } from './send-range.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const FILE = 4096;

/** Each request's files: `files` random contents of 4 KiB, by hash, in order. */
const batches = new Map<string, { hashes: string[]; contents: Map<string, Buffer> }>();
/** Requests whose frames are all written. */
const generated = new Set<string>();
/** The server's chunks: a pool of its own, kept whole (the process's keeps at most 16). */
const pool = new BufferPool(FRAME_CHUNK_SIZE, 1000);
let app: FastifyInstance;
let base: string;

function batch(id: string, files: number): { hashes: string[]; contents: Map<string, Buffer> } {
  let made = batches.get(id);
  if (made === undefined) {
    const all = randomBytes(files * FILE);
    const contents = new Map<string, Buffer>();
    const hashes: string[] = [];
    for (let i = 0; i < files; i++) {
      const data = all.subarray(i * FILE, (i + 1) * FILE);
      contents.set(sha(data), data);
      hashes.push(sha(data));
    }
    made = { hashes, contents };
    batches.set(id, made);
  }
  return made;
}

beforeAll(async () => {
  app = Fastify();
  app.get<{ Querystring: { id: string; files: string; kbps?: string } }>(
    '/frames',
    async (request, reply) => {
      const { id, files, kbps } = request.query;
      const { hashes, contents } = batch(id, Number(files));
      const faults =
        kbps === undefined
          ? Faults.none()
          : Faults.fromEnv({ MOSAIC_FAULTS: JSON.stringify({ throttleBlobKBps: Number(kbps) }) });
      return sendFrames(
        reply,
        faults,
        (chunks) =>
          (async function* () {
            yield* writeFrames(hashes, async (hash) => contents.get(hash) ?? null, { chunks });
            generated.add(id);
          })(),
        new FrameChunks(pool),
      );
    },
  );
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app.close();
});

function get(query: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    httpRequest(`${base}/frames?${query}`, resolve).on('error', reject).end();
  });
}

/** Reads a request's frames and counts those whose bytes are not their content. */
async function wrongFrames(id: string, res: IncomingMessage): Promise<number> {
  const { hashes, contents } = batches.get(id) ?? {
    hashes: [],
    contents: new Map<string, Buffer>(),
  };
  const expected = hashes.map((hash) => ({ hash, size: contents.get(hash)?.length ?? 0 }));
  let wrong = 0;
  let seen = 0;
  for await (const frame of readFrames(res, expected)) {
    seen++;
    if (frame.data === null || sha(frame.data) !== frame.hash) wrong++;
  }
  expect(seen).toBe(hashes.length);
  return wrong;
}

it("never fills a slow response's chunks again while other responses go out", async () => {
  // ~830 KB at 400 KB/s: its frames are all written ~1.5 s before its last chunk leaves.
  const slow = await get('id=slow&files=200&kbps=400');
  const slowWrong = wrongFrames('slow', slow);
  slowWrong.catch(() => undefined); // awaited below; a failure before that is the test's own
  while (!generated.has('slow')) await new Promise((resolve) => setTimeout(resolve, 5));
  // Meanwhile, whole responses go out and give their chunks back, again and again.
  for (let round = 0; round < 3; round++) {
    const ids = [1, 2, 3].map((n) => `fast${round}-${n}`);
    const answers = await Promise.all(ids.map((id) => get(`id=${id}&files=300`)));
    const wrong = await Promise.all(answers.map((res, i) => wrongFrames(ids[i] ?? '', res)));
    expect(wrong).toEqual([0, 0, 0]);
  }
  expect(await slowWrong).toBe(0);
});

it('lends the next response the chunks of one that went out whole, and only those', () => {
  const first = new FrameChunks();
  const taken = [first.take(), first.take()];
  const meanwhile = new FrameChunks();
  const other = meanwhile.take();
  expect(taken).not.toContain(other);
  first.giveBack();
  first.giveBack(); // a second give is nothing
  const next = new FrameChunks();
  const again = [next.take(), next.take(), next.take()];
  expect(again.filter((c) => taken.includes(c))).toHaveLength(2);
  expect(again).not.toContain(other);
});
