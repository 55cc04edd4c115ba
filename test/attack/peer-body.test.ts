/**
 * Issue 12, row 3: large unsigned bodies to the peer API. The signature headers are checked
 * before a byte of the body is read, and each route reads at most what it needs, so eight 60 MB
 * bodies at once are refused at once and cost the node no memory; signed requests still work.
 */
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { hlcAt, send, signed, TESTER_ID, usePeerTarget } from '../helpers/peer.js';

const target = usePeerTarget();

/** A field of /proc/<pid>/status in bytes (VmRSS now, VmHWM the peak so far). */
async function memory(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/**
 * POSTs `body` over a raw socket and resolves with the status as soon as the answer comes. The
 * node answers a refused request at once and closes the connection, so writing the rest of the
 * body fails: that is expected and ignored once the status line is in.
 */
async function postRaw(
  url: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  options: { chunked?: boolean } = {},
): Promise<number> {
  // The node's answer and its close can race the rest of our write: the write's EPIPE (or a
  // reset) may then come before the status line is read, and Node drops the socket with it.
  // Asked again, the same request gets its status; other errors fail at once.
  for (let attempt = 1; ; attempt++) {
    try {
      return await postRawOnce(url, path, headers, body, options);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt >= 5 || (code !== 'EPIPE' && code !== 'ECONNRESET')) throw error;
    }
  }
}

function postRawOnce(
  url: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  { chunked = false } = {},
): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(Number(port), hostname, () => {
      const length: Record<string, string> = chunked
        ? { 'transfer-encoding': 'chunked' }
        : { 'content-length': String(body.length) };
      const head = Object.entries({
        ...headers,
        host: `${hostname}:${port}`,
        'content-type': 'application/json',
        ...length,
      })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n`);
      if (!chunked) {
        socket.write(body);
        return;
      }
      // No declared length: the bound must hold while streaming.
      for (let at = 0; at < body.length; at += 1024 * 1024) {
        const part = body.subarray(at, at + 1024 * 1024);
        socket.write(`${part.length.toString(16)}\r\n`);
        socket.write(part);
        socket.write('\r\n');
      }
      socket.write('0\r\n\r\n');
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(received)?.[1];
      if (status !== undefined) {
        resolve(Number(status));
        socket.destroy();
      }
    });
    socket.on('error', (error) => {
      if (!/^HTTP\/1\.1 /.test(received)) reject(error);
    });
    socket.on('close', () => {
      reject(new Error(`connection closed without an answer: ${received.slice(0, 100)}`));
    });
  });
}

describe('peer API bodies (issue 12, row 3)', () => {
  it('refuses eight unsigned 60 MB bodies at once with 401, quickly, without the memory', async () => {
    const pid = target.node.node.process.pid;
    if (pid === undefined) throw new Error('no pid');
    const rssBefore = await memory(pid, 'VmRSS');
    // Valid JSON, so a server that parses before checking would pay for the parse too.
    const big = Buffer.from(`{"ops":[],"pad":"${'a'.repeat(60_000_000)}"}`);
    const started = Date.now();
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () => postRaw(target.node.node.url, '/peer/ops', {}, big)),
    );
    const elapsed = Date.now() - started;
    expect(statuses).toEqual(Array(8).fill(401));
    const peak = await memory(pid, 'VmHWM');
    // Before the fix: 9 s and +1.3 GB. The node's own footprint moves by a few MB.
    expect(peak - rssBefore).toBeLessThan(100 * 1024 * 1024);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('refuses a declared body over the route bound with 413 before reading it', async () => {
    const pid = target.node.node.process.pid ?? 0;
    const rssBefore = await memory(pid, 'VmRSS');
    const big = Buffer.alloc(40 * 1024 * 1024, 0x20);
    // Correctly signed headers (the MAC can only be checked on the body): the bound still holds.
    const headers = signed(target.cluster.key, target.nodeId, 'POST', '/peer/pull', {}).headers;
    const statuses = await Promise.all(
      Array.from({ length: 4 }, () => postRaw(target.node.node.url, '/peer/pull', headers, big)),
    );
    expect(statuses).toEqual(Array(4).fill(413));
    const chunked = signed(target.cluster.key, target.nodeId, 'POST', '/peer/pull', {}).headers;
    expect(await postRaw(target.node.node.url, '/peer/pull', chunked, big, { chunked: true })).toBe(
      413,
    );
    expect((await memory(pid, 'VmHWM')) - rssBefore).toBeLessThan(100 * 1024 * 1024);
  });

  it('refuses a signed request whose body is not the one signed, and takes signed ones', async () => {
    const push = signed(target.cluster.key, target.nodeId, 'POST', '/peer/ops', { ops: [] });
    const swapped = await send(target.node.node.url, {
      ...push,
      body: JSON.stringify({ ops: [], x: 1 }),
    });
    expect(swapped.status).toBe(401);
    // The nonce of a request with a wrong body is not burnt: the genuine one still passes.
    expect((await send(target.node.node.url, push)).status).toBe(200);

    const op = {
      origin: TESTER_ID,
      seq: 1,
      hlc: hlcAt(Date.now(), TESTER_ID),
      body: { kind: 'picture.delete', id: 'c'.repeat(64) },
    };
    const res = await send(
      target.node.node.url,
      signed(target.cluster.key, target.nodeId, 'POST', '/peer/ops', { ops: [op] }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ applied: 1, vv: { [TESTER_ID]: 1 } });
    const pull = await send(
      target.node.node.url,
      signed(target.cluster.key, target.nodeId, 'POST', '/peer/pull', {
        vv: {},
        after: null,
        limit: 10,
      }),
    );
    expect(pull.status).toBe(200);

    // A push batch of 500 ops with long descriptions (over 2 MB) is within the route's bound.
    const batch = Array.from({ length: 500 }, (_, i) => ({
      origin: TESTER_ID,
      seq: i + 2,
      hlc: hlcAt(Date.now(), TESTER_ID, i),
      body: { kind: 'picture.update', id: 'd'.repeat(64), desc: 'x'.repeat(5000) },
    }));
    const large = signed(target.cluster.key, target.nodeId, 'POST', '/peer/ops', { ops: batch });
    expect(large.body?.length).toBeGreaterThan(2_000_000);
    const pushed = await send(target.node.node.url, large);
    expect(pushed.status).toBe(200);
    expect(pushed.body).toMatchObject({ applied: 500, vv: { [TESTER_ID]: 501 } });
  });
});
