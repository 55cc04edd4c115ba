/**
 * The peer API answers malformed input from a signed peer with a 4xx in the error shape, never
 * a 500, and a bad operation never costs the rest of its batch (issue 12, "no 500 from input").
 */
import { describe, expect, it } from 'vitest';
import { hlcAt, send, signed, TESTER_ID, usePeerTarget } from '../helpers/peer.js';
import { signRequest } from '../../src/replication/peer-auth.js';

const target = usePeerTarget();

/** Sends `body` as is (any text), correctly signed. */
async function sendText(path: string, body: string, contentType = 'application/json') {
  const headers = signRequest(target.cluster.key, {
    method: 'POST',
    path,
    nodeId: TESTER_ID,
    url: '',
    to: target.nodeId,
    body,
  });
  const res = await fetch(`${target.node.node.url}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': contentType },
    body,
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

const routes = [
  '/peer/hello',
  '/peer/ops',
  '/peer/pull',
  '/peer/folders/shared/contents',
  '/peer/events/tx/prepare',
  '/peer/events/tx/decision',
  '/peer/events/tx/status',
  '/peer/events/voting',
  '/peer/events/votes',
  '/peer/events/participant',
];

describe('malformed peer input', () => {
  it('gets a 4xx in the error shape on every route', async () => {
    const bodies = [
      '',
      '{',
      'null',
      '[]',
      '"x"',
      '{"ops":[{"origin":"x"}]}',
      '{"vv":{"x":-1},"after":null,"limit":1e309}',
      `{"pad":"${'\\u0000'.repeat(10)}"}`,
      '{"__proto__":{"polluted":true}}',
    ];
    for (const path of routes) {
      for (const body of bodies) {
        const res = await sendText(path, body);
        expect(res.status, `${path} ${body.slice(0, 40)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${path} ${body.slice(0, 40)}`).toBeLessThan(500);
        expect(res.body.error?.code).toEqual(expect.any(String));
      }
      // Only JSON, and only through the hashed reader: another type is not read at all.
      const text = await sendText(path, 'hello', 'text/plain');
      expect(text.status).toBe(415);
    }
  });

  it('odd but well-formed operations are refused or taken one by one, never a 500', async () => {
    const now = Date.now();
    const ops = [
      {
        origin: TESTER_ID,
        seq: 1,
        hlc: hlcAt(now, TESTER_ID),
        body: { kind: 'picture.delete', id: 'e'.repeat(64) },
      },
      {
        origin: TESTER_ID,
        seq: 2,
        hlc: hlcAt(9_000_000_000_000_000, TESTER_ID),
        body: { kind: 'picture.delete', id: 'e'.repeat(64) },
      },
      {
        origin: TESTER_ID,
        seq: Number.MAX_SAFE_INTEGER,
        hlc: hlcAt(0, TESTER_ID),
        body: { kind: 'picture.delete', id: 'e'.repeat(64) },
      },
      {
        origin: TESTER_ID,
        seq: 3,
        hlc: hlcAt(now, 'cccccccccccccccc'),
        body: { kind: 'picture.delete', id: 'e'.repeat(64) },
      },
      {
        origin: 'cccccccccccccccc',
        seq: 1,
        hlc: hlcAt(now, 'cccccccccccccccc'),
        body: { kind: 'picture.delete', id: 'e'.repeat(64) },
      },
    ];
    const res = await send(
      target.node.node.url,
      signed(target.cluster.key, target.nodeId, 'POST', '/peer/ops', { ops }),
    );
    expect(res.status).toBe(200);
    const body = res.body as { applied: number; rejected: { seq: number; code: string }[] };
    expect(body.applied).toBe(2);
    expect(body.rejected.map((r) => r.code)).toEqual(['clock_ahead', 'foreign_hlc', 'not_sender']);
    // The hello must name the node that signed it.
    const hello = await send(
      target.node.node.url,
      signed(target.cluster.key, '*', 'POST', '/peer/hello', {
        nodeId: 'cccccccccccccccc',
        name: 'x',
        url: null,
      }),
    );
    expect(hello.status).toBe(400);
  });
});
