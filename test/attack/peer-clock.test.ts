/**
 * Issue 12, row 8: a pushed batch with one operation stamped far in the future. That operation
 * is refused on its own (reported in the answer, not a 500), the rest of the batch is applied,
 * and no remote timestamp drags the node's clock more than the bound (60 s, the peer window).
 */
import { describe, expect, it } from 'vitest';
import { hlcAt, send, signed, TESTER_ID, usePeerTarget } from '../helpers/peer.js';

const target = usePeerTarget();

interface PushAnswer {
  applied: number;
  rejected?: { origin: string; seq: number; code: string }[];
  vv: Record<string, number>;
}

const MINUTE = 60_000;
let nextId = 1;

function op(seq: number, wall: number) {
  const id = (nextId++).toString(16).padStart(64, '0');
  return {
    origin: TESTER_ID,
    seq,
    hlc: hlcAt(wall, TESTER_ID),
    body: { kind: 'picture.update', id, title: `t${seq}` },
  };
}

async function push(ops: unknown[]) {
  return send(
    target.node.node.url,
    signed(target.cluster.key, target.nodeId, 'POST', '/peer/ops', { ops }),
  );
}

/** The wall time in the HLC of a change made at the node now (an API token, read back by pull). */
async function localWall(): Promise<number> {
  const client = await target.node.api();
  const made = await client.post('/api/tokens', { name: `probe-${nextId++}` });
  expect(made.status).toBe(201);
  const res = await send(
    target.node.node.url,
    signed(target.cluster.key, target.nodeId, 'POST', '/peer/pull', {
      vv: {},
      after: null,
      limit: 5000,
    }),
  );
  const ops = (res.body as { ops: { origin: string; hlc: string }[] }).ops;
  const last = ops.filter((o) => o.origin === target.nodeId).at(-1);
  if (last === undefined) throw new Error('no local op');
  return Number(last.hlc.slice(0, 16));
}

describe('far-future timestamps from a peer (issue 12, row 8)', () => {
  it('are refused one by one; the rest of the batch is applied', async () => {
    const now = Date.now();
    const res = await push([op(1, now), op(2, now + 10 * MINUTE), op(3, now)]);
    expect(res.status).toBe(200);
    const body = res.body as PushAnswer;
    expect(body.applied).toBe(2);
    expect(body.rejected).toEqual([
      expect.objectContaining({ origin: TESTER_ID, seq: 2, code: 'clock_ahead' }),
    ]);
    // Op 2 is not logged, so the node keeps asking for it (its vector stops before it).
    expect(body.vv[TESTER_ID]).toBe(1);
  });

  it('never drag the target.node clock more than the bound', async () => {
    const now = Date.now();
    const res = await push([op(4, now + 4.5 * MINUTE)]);
    expect(res.status).toBe(200);
    expect((res.body as PushAnswer).rejected).toEqual([
      expect.objectContaining({ seq: 4, code: 'clock_ahead' }),
    ]);
    const wall = await localWall();
    // Before the fix, the node's next timestamp was 4.5 minutes ahead of its wall clock.
    expect(wall - Date.now()).toBeLessThan(10_000);

    // Within the bound, a timestamp ahead is taken (and moves the clock at most that far).
    const near = await push([op(5, Date.now() + 30_000)]);
    expect((near.body as PushAnswer).applied).toBe(1);
    expect((await localWall()) - Date.now()).toBeLessThanOrEqual(31_000);
  });
});
