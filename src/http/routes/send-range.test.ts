import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStreamNoFollow } from '../../core/read-no-follow.js';
import { Faults } from '../../faults/faults.js';
import { sendFile } from './send-range.js';
import { SLOTS, SLOT_BYTES } from './write-file-range.js';

// More than the ring holds, and not a multiple of a slot.
const SIZE = SLOTS * SLOT_BYTES * 3 + 12_345;
let dir: string;
let file: string;
let bytes: Buffer;
let app: FastifyInstance;
let base: string;
/** Requests whose handler returned (its sendFile done). */
const handled: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-send-'));
  file = join(dir, 'big');
  bytes = randomBytes(SIZE);
  await writeFile(file, bytes);
  // Far more than loopback's socket buffers hold: a client that stops reading holds the server.
  await writeFile(join(dir, 'huge'), '');
  await truncate(join(dir, 'huge'), 256 * 1024 * 1024);
  app = Fastify();
  app.addHook('onRequest', async (_request, reply) => {
    void reply.header('X-Content-Type-Options', 'nosniff');
  });
  // `announced` lets a test claim more bytes than the file has (it shrank after the stat).
  app.get<{ Querystring: { announced?: string } }>('/file', async (request, reply) => {
    const size = Number(request.query.announced ?? SIZE);
    return sendFile(reply, request.headers.range, file, size, Faults.none(), (range) =>
      createReadStream(file, range ?? {}),
    );
  });
  // A link put at the located path since it was checked: its target must not go out.
  app.get('/swapped', async (request, reply) => {
    const link = join(dir, 'swapped');
    return sendFile(reply, request.headers.range, link, SIZE, Faults.none(), (range) =>
      readStreamNoFollow(link, range),
    );
  });
  app.get('/huge', async (request, reply) => {
    const huge = join(dir, 'huge');
    await sendFile(reply, request.headers.range, huge, 256 * 1024 * 1024, Faults.none(), (r) =>
      createReadStream(huge, r ?? {}),
    );
    handled.push(request.url);
    return reply;
  });
  await symlink(file, join(dir, 'swapped'));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  readonly res: IncomingMessage;
  readonly body: Buffer;
  readonly aborted: boolean;
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () => {
        resolve({ res, body: Buffer.concat(chunks), aborted: aborted || !res.complete });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('sendFile (a synced folder file from reused buffers)', () => {
  it('sends the whole file, with the headers the hooks set', async () => {
    const { res, body, aborted } = await get('/file');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(SIZE));
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(aborted).toBe(false);
    expect(body.equals(bytes)).toBe(true);
  });

  it('sends a range (a resumed fetch) and refuses one past the end', async () => {
    const start = SLOT_BYTES - 3;
    const end = SIZE - 10;
    const part = await get('/file', { range: `bytes=${start}-${end}` });
    expect(part.res.statusCode).toBe(206);
    expect(part.res.headers['content-range']).toBe(`bytes ${start}-${end}/${SIZE}`);
    expect(part.body.equals(bytes.subarray(start, end + 1))).toBe(true);
    const past = await get('/file', { range: `bytes=${SIZE + 5}-` });
    expect(past.res.statusCode).toBe(416);
    expect(past.res.headers['content-range']).toBe(`bytes */${SIZE}`);
  });

  it('answers HEAD with the length and no body', async () => {
    const { res, body } = await get('/file', {}, 'HEAD');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(SIZE));
    expect(body.length).toBe(0);
  });

  it('cuts the response when the file is shorter than announced: never other bytes', async () => {
    const { res, body, aborted } = await get(`/file?announced=${SIZE + 100}`);
    expect(res.statusCode).toBe(200);
    expect(aborted).toBe(true);
    expect(body.length).toBeLessThanOrEqual(SIZE);
    expect(body.equals(bytes.subarray(0, body.length))).toBe(true);
  });

  it('does not send the target of a link put at the path since it was located', async () => {
    // Cut before or after the head was written: no bytes either way, and the client fetches again.
    const answer = await get('/swapped').catch((error: unknown) => error as Error);
    if (answer instanceof Error) expect(answer.message).toMatch(/socket hang up|ECONNRESET/);
    else {
      expect(answer.aborted).toBe(true);
      expect(answer.body.length).toBe(0);
    }
  });

  it('stops reading and closes the file when the client leaves mid-way', async () => {
    const before = openFds();
    const done = handled.length;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${base}/huge`, (res) => {
        res.once('data', () => {
          // Read no more: the ring fills, the server waits on the socket, then the client goes.
          res.pause();
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 50);
        });
      });
      req.on('error', () => undefined);
      req.on('close', () => undefined);
      req.end();
      req.on('timeout', reject);
    });
    await expect.poll(() => handled.length, { timeout: 5000 }).toBe(done + 1);
    await expect.poll(openFds, { timeout: 5000 }).toBeLessThanOrEqual(before);
  });
});
