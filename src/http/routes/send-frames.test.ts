/**
 * A batch of small files sent as frames over real HTTP (sendFrames): the chunks a response is
 * written into go back to the pool once the socket has taken them (or, sent as a stream under the
 * MOSAIC_FAULTS throttle, once the response has gone out whole). The unsafe moment is a response
 * whose chunks still wait in the process (a client that stopped reading, a throttled stream): a
 * chunk given back then would be filled again by the next response before it is sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
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
/** Pools a request may ask for by name (`own=`), to count one response's chunks alone. */
const owned = new Map<string, CountingPool>();

/** Each request's files: `files` random contents of 4 KiB, by hash, in order. */
const batches = new Map<string, { hashes: string[]; contents: Map<string, Buffer> }>();
/** Requests whose frames are all written. */
const generated = new Set<string>();
/** A pool that counts the chunks it had to make (none idle to lend). */
class CountingPool extends BufferPool {
  made = 0;
  override take(): Buffer {
    if (this.idle === 0) this.made++;
    return super.take();
  }
}

/** The server's chunks: a pool of its own, kept whole (the process's keeps at most 16). */
const pool = new CountingPool(FRAME_CHUNK_SIZE, 1000);
/** The server's side of each request, by id. */
const responses = new Map<string, ServerResponse>();
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
  app.get<{ Querystring: { id: string; files: string; kbps?: string; own?: string } }>(
    '/frames',
    async (request, reply) => {
      const { id, files, kbps, own } = request.query;
      const { hashes, contents } = batch(id, Number(files));
      responses.set(id, reply.raw);
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
        new FrameChunks(own === undefined ? pool : (owned.get(own) ?? pool)),
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

it('sends a response of 16 MiB through a few chunks used again and again', async () => {
  // 4 000 files of 4 KiB: 64 chunks' worth, from a pool that keeps 16 (as the process's does).
  const sixteen = new CountingPool(FRAME_CHUNK_SIZE, 16);
  owned.set('sixteen', sixteen);
  const res = await get('id=big&files=4000&own=sixteen');
  expect(await wrongFrames('big', res)).toBe(0);
  // Before: every chunk made new and held until the response's end (64).
  expect(sixteen.made).toBeLessThanOrEqual(8);
  expect(sixteen.idle).toBe(sixteen.made);
});

it('never fills a chunk again while a client that stopped reading holds up the socket', async () => {
  // 12 MB to a client that reads nothing for a while: the socket fills, chunks wait here.
  const stalled = await get('id=stalled&files=3000');
  stalled.pause();
  while (responses.get('stalled')?.writableNeedDrain !== true) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  for (let round = 0; round < 3; round++) {
    const ids = [1, 2].map((n) => `meanwhile${round}-${n}`);
    const answers = await Promise.all(ids.map((id) => get(`id=${id}&files=1000`)));
    const wrong = await Promise.all(answers.map((res, i) => wrongFrames(ids[i] ?? '', res)));
    expect(wrong).toEqual([0, 0]);
  }
  expect(await wrongFrames('stalled', stalled)).toBe(0);
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
