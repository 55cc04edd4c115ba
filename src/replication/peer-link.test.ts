/**
 * A link's writes to the peers table (PeerLink, PeerRepository.record): the peer's row at first
 * contact, then when it was last seen and how far it acknowledged our operations at most every
 * RECORD_EVERY_MS, and once more at stop. Each write is a committed transaction (on SQLite a
 * flush of its log on the event loop); they were one per exchange before. The peer is a stand-in
 * client (this tests the link, not HTTP); the store is real, on both engines.
 */
import pino from 'pino';
import { afterEach, expect, it, vi } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { encodeHlc } from '../core/hlc.js';
import { Faults } from '../faults/faults.js';
import type { Op } from '../oplog/op.js';
import { openReplicaState } from '../oplog/replica-state.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { PeerError, type PeerClient } from './peer-client.js';
import { PeerLink } from './peer-link.js';
import { RECORD_EVERY_MS } from './peer-row.js';
import { PeerRepository } from './peer.repository.js';
import type { VersionVector } from './version-vector.js';

const SELF = 'aaaaaaaaaaaaaaaa';
const PEER = 'bbbbbbbbbbbbbbbb';
const T0 = 1_800_000_000_000;

/** The real repository, counting its writes. */
class CountingPeers extends PeerRepository {
  writes = 0;
  override async upsert(...args: Parameters<PeerRepository['upsert']>): Promise<void> {
    this.writes++;
    await super.upsert(...args);
  }
  override async record(...args: Parameters<PeerRepository['record']>): Promise<void> {
    this.writes++;
    await super.record(...args);
  }
}

/** A peer that takes every pushed op and answers hellos with what it holds. */
function standInPeer(): PeerClient {
  let vv: VersionVector = {};
  const peer = {
    hello: () =>
      Promise.resolve({
        nodeId: PEER,
        name: 'peer-b',
        url: null,
        version: 'test',
        vv,
        pendingBlobBytes: 0,
      }),
    push: (ops: readonly Op[]) => {
      const last = ops[ops.length - 1];
      if (last !== undefined) vv = { ...vv, [last.origin]: last.seq };
      return Promise.resolve({ applied: ops.length, vv });
    },
    pull: () => Promise.resolve({ ops: [], next: null }),
    abortAll: () => undefined,
  };
  return peer as unknown as PeerClient;
}

/** A link to `peer` from this node's real store and log; `cameUp` counts the peer's coming up. */
function linkTo(
  peer: PeerClient,
  store: MetadataStore,
  { changes, oplog }: Pick<ReturnType<typeof openReplicaState>, 'changes' | 'oplog'>,
  options: { peers?: PeerRepository; maxRetryMs: number; selfName?: string; lines?: string[] },
): { link: PeerLink; cameUp: () => number } {
  let came = 0;
  const link = new PeerLink('http://127.0.0.1:1', 'static', peer, {
    selfId: SELF,
    oplog,
    changes,
    peers: options.peers ?? new PeerRepository(store),
    faults: Faults.none(),
    log:
      options.lines === undefined
        ? pino({ level: 'silent' })
        : pino({ level: 'info' }, { write: (line: string) => options.lines?.push(line) }),
    identified: () => true,
    cameUp: () => {
      came++;
    },
    maxRetryMs: options.maxRetryMs,
    ...(options.selfName === undefined ? {} : { selfName: options.selfName }),
  });
  return { link, cameUp: () => came };
}

/** Waits until an exchange went through (the link's error cleared), then stops the link. */
async function errorClearsThenStop(link: PeerLink): Promise<void> {
  await vi.waitFor(
    () => {
      expect(link.lastError).toBeNull();
    },
    { timeout: 5_000, interval: 20 },
  );
  link.closed = true;
  await link.idle();
}

afterEach(() => {
  vi.useRealTimers();
});

describeEachDialect('a peer link writes the peers table now and then', (ctx) => {
  it('at first contact, at most every RECORD_EVERY_MS while exchanging, and at stop', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const store = await ctx.open();
    const { changes, oplog } = openReplicaState(store, SELF);
    const peers = new CountingPeers(store);
    const { link } = linkTo(standInPeer(), store, { changes, oplog }, { peers, maxRetryMs: 1000 });
    const exchange = async (): Promise<void> => {
      await changes.commit({ kind: 'picture.update', id: 'p'.repeat(64), title: 'x' });
      link.kick({ hello: true, push: true, pull: true });
      await vi.waitFor(() => {
        expect(link.theirVv[SELF]).toBe(oplogCount);
      });
    };
    let oplogCount = 0;
    for (let i = 0; i < 20; i++) {
      oplogCount++;
      await exchange();
      vi.setSystemTime(T0 + i * 100);
    }
    // 20 hellos, pushes and pulls: the row written once, at the first hello.
    expect(peers.writes).toBe(1);
    const first = (await peers.all()).find((p) => p.nodeId === PEER);
    // (vi.waitFor moves the faked clock on by its interval at each check.)
    expect(first).toMatchObject({ name: 'peer-b', source: 'static' });
    expect(first?.lastSeen).toBeGreaterThanOrEqual(T0);
    expect(first?.lastSeen).toBeLessThan(T0 + RECORD_EVERY_MS);

    vi.setSystemTime(T0 + RECORD_EVERY_MS + 1);
    oplogCount++;
    await exchange();
    expect(peers.writes).toBe(2);
    await vi.waitFor(async () => {
      const row = (await peers.all()).find((p) => p.nodeId === PEER);
      // What the peer had acknowledged when the write was made (its hello's vector, or after).
      expect(row?.ackedSeq).toBeGreaterThanOrEqual(20);
      expect(row?.lastSeen).toBeGreaterThan(T0 + RECORD_EVERY_MS);
    });

    vi.setSystemTime(T0 + RECORD_EVERY_MS + 500);
    oplogCount++;
    await exchange();
    expect(peers.writes).toBe(2);
    // Stopping writes what is not written yet.
    link.closed = true;
    await link.idle();
    expect(peers.writes).toBe(3);
    const last = (await peers.all()).find((p) => p.nodeId === PEER);
    expect(last).toMatchObject({ lastSeen: link.lastSeen, ackedSeq: 22 });
    expect(link.lastSeen).toBeGreaterThanOrEqual(T0 + RECORD_EVERY_MS + 500);
  });

  it('never moves the acknowledged sequence back', async () => {
    const store = await ctx.open();
    const peers = new PeerRepository(store);
    await peers.upsert({
      nodeId: PEER,
      name: 'peer-b',
      url: 'http://x',
      source: 'static',
      lastSeen: 1,
    });
    await peers.record(PEER, { lastSeen: 2, ackedSeq: 9 });
    await peers.record(PEER, { lastSeen: 3, ackedSeq: 4 });
    expect((await peers.all())[0]).toMatchObject({ lastSeen: 3, ackedSeq: 9 });
  });

  it('backs off when the peer answers but the exchange fails here (a full disk)', async () => {
    const store = await ctx.open();
    const { changes, oplog } = openReplicaState(store, SELF);
    // The peer is fine and has an operation for us; taking it in fails every time.
    const receive = changes.receive.bind(changes);
    changes.receive = () => Promise.reject(new Error('database or disk is full'));
    const pulls: number[] = [];
    const peer = standInPeer();
    peer.pull = () => {
      pulls.push(performance.now());
      return Promise.resolve({ ops: [peerOp()], next: null });
    };
    const { link, cameUp } = linkTo(peer, store, { changes, oplog }, { maxRetryMs: 800 });
    link.kick({ hello: true, pull: true });
    // Retried after 100, 200, 400 and 800 ms: the fifth try comes 1.5 s after the first at
    // the earliest. (It came after ~0.5 s: the hello's answer reset the back-off each time,
    // and the same operations were fetched and parsed every 100 ms.)
    await vi.waitFor(
      () => {
        expect(pulls.length).toBeGreaterThanOrEqual(5);
      },
      { timeout: 10_000, interval: 20 },
    );
    expect((pulls[4] ?? 0) - (pulls[0] ?? 0)).toBeGreaterThanOrEqual(1450);
    expect(link.lastError).toBe('database or disk is full');
    // The peer answers all along: it stays up, and came up once (marked down at each failure,
    // it "came up" at each retry, and each time every picture's missing bytes were looked for).
    expect(link.state).toBe('up');
    expect(cameUp()).toBe(1);
    // Once the operations can be taken in, a next try goes through and the error is gone.
    changes.receive = receive;
    await errorClearsThenStop(link);
  });

  it('keeps a peer up when recording it at its hello fails here (a full disk)', async () => {
    const store = await ctx.open();
    const state = openReplicaState(store, SELF);
    // The peers table cannot be written for now; the peer answers all along.
    let failing = true;
    class FullPeers extends PeerRepository {
      override async upsert(...args: Parameters<PeerRepository['upsert']>): Promise<void> {
        if (failing) throw new Error('database or disk is full');
        await super.upsert(...args);
      }
    }
    const lines: string[] = [];
    const { link, cameUp } = linkTo(standInPeer(), store, state, {
      peers: new FullPeers(store),
      maxRetryMs: 400,
      lines,
    });
    link.kick({ hello: true, pull: true, push: true });
    // Before, this node's failure failed the hello and was taken for the peer's: marked down,
    // never pulled from or pushed to, "peer down" at every retry.
    await vi.waitFor(
      () => {
        expect(lines.some((l) => l.includes('"peer up"'))).toBe(true);
        expect(lines.some((l) => l.includes('could not record the peer'))).toBe(true);
      },
      { timeout: 5_000, interval: 20 },
    );
    expect(link.state).toBe('up');
    expect(link.lastError).toBeNull();
    expect(cameUp()).toBe(1);
    // Once it can be written, the next hello records the peer.
    failing = false;
    link.kick({ hello: true });
    await vi.waitFor(
      async () => {
        expect((await new PeerRepository(store).all()).map((p) => p.nodeId)).toContain(PEER);
      },
      { timeout: 5_000, interval: 20 },
    );
    expect(lines.some((l) => l.includes('"peer down"'))).toBe(false);
    await errorClearsThenStop(link);
  });

  it('keeps a peer that answers with an error of its own (its disk full) up, and backs off', async () => {
    const store = await ctx.open();
    const { changes, oplog } = openReplicaState(store, SELF);
    await changes.commit({ kind: 'picture.update', id: 'p'.repeat(64), title: 'to push' });
    // The peer answers every hello, and refuses every push: its disk is full.
    const peer = standInPeer();
    const push = peer.push.bind(peer);
    const pushes: number[] = [];
    peer.push = () => {
      pushes.push(performance.now());
      return Promise.reject(
        new PeerError('POST /peer/ops answered 507: {"error":"insufficient_storage"}', 507),
      );
    };
    const { link, cameUp } = linkTo(peer, store, { changes, oplog }, { maxRetryMs: 800 });
    link.kick({ hello: true, push: true });
    await vi.waitFor(
      () => {
        expect(pushes.length).toBeGreaterThanOrEqual(5);
      },
      { timeout: 10_000, interval: 20 },
    );
    // Backed off (100, 200, 400, 800 ms), up all along, and came up once: marked down at each
    // refusal, it "came up" at each retry's hello, each time looking for every missing blob.
    expect((pushes[4] ?? 0) - (pushes[0] ?? 0)).toBeGreaterThanOrEqual(1450);
    expect(link.state).toBe('up');
    expect(cameUp()).toBe(1);
    expect(link.lastError).toMatch(/answered 507/);
    // Space freed on the peer: the next try goes through and the error is gone.
    peer.push = push;
    await errorClearsThenStop(link);
  });

  it('says once that a peer has this node’s name (--name given twice)', async () => {
    const store = await ctx.open();
    const { changes, oplog } = openReplicaState(store, SELF);
    const lines: string[] = [];
    const { link } = linkTo(
      standInPeer(),
      store,
      { changes, oplog },
      { maxRetryMs: 800, selfName: 'peer-b', lines },
    );
    for (let i = 0; i < 3; i++) {
      link.kick({ hello: true });
      await vi.waitFor(
        () => {
          expect(link.state).toBe('up');
        },
        { timeout: 5_000, interval: 20 },
      );
      await link.idle();
    }
    const said = lines.filter((l) => l.includes('same name as this node'));
    expect(said).toHaveLength(1);
    link.closed = true;
    await link.idle();
  });

  it('marks a peer down when its gateway says no process serves it (502, 503, 504)', async () => {
    const store = await ctx.open();
    const { changes, oplog } = openReplicaState(store, SELF);
    await changes.commit({ kind: 'picture.update', id: 'p'.repeat(64), title: 'to push' });
    const peer = standInPeer();
    peer.push = () => Promise.reject(new PeerError('POST /peer/ops answered 503', 503));
    const { link } = linkTo(peer, store, { changes, oplog }, { maxRetryMs: 800 });
    link.kick({ hello: true, push: true });
    await vi.waitFor(
      () => {
        expect(link.state).toBe('down');
      },
      { timeout: 5_000, interval: 20 },
    );
    expect(link.lastError).toMatch(/answered 503/);
    link.closed = true;
    await link.idle();
  });

  it('gives up what was sent to a peer when it goes down, once', async () => {
    const store = await ctx.open();
    const { changes, oplog } = openReplicaState(store, SELF);
    const peer = standInPeer();
    const hello = peer.hello.bind(peer);
    let aborted = 0;
    peer.abortAll = () => {
      aborted++;
    };
    const { link } = linkTo(peer, store, { changes, oplog }, { maxRetryMs: 100 });
    link.kick({ hello: true });
    await vi.waitFor(() => {
      expect(link.state).toBe('up');
    });
    // The peer stops answering: its link goes down, and keeps failing its retries.
    let hellos = 0;
    peer.hello = () => {
      hellos++;
      return Promise.reject(new PeerError('POST /peer/hello: connect ECONNREFUSED', null));
    };
    link.kick({ hello: true });
    await vi.waitFor(
      () => {
        expect(hellos).toBeGreaterThanOrEqual(4);
      },
      { timeout: 5_000, interval: 20 },
    );
    expect(link.state).toBe('down');
    // Once, as it went down: the retries' failures leave alone the requests made to it since
    // (it stays a fallback source for blobs and folder contents).
    expect(aborted).toBe(1);
    peer.hello = hello;
    await vi.waitFor(() => {
      expect(link.state).toBe('up');
    });
    link.closed = true;
    await link.idle();
  });
});

/** An operation of the peer's, as its pull answers it. */
function peerOp(): Op {
  return {
    origin: PEER,
    seq: 1,
    hlc: encodeHlc({ wall: T0, counter: 0, node: PEER }),
    body: { kind: 'picture.update', id: 'p'.repeat(64), title: 'from the peer' },
  };
}
