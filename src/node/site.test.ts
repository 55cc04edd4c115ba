/**
 * connectSite, one layer alone: two processes' sites joined by an in-process bus (the real one,
 * LISTEN/NOTIFY, is tested in storage/metadata/site-bus.test.ts). What one process commits
 * reaches the other's live feed without reading the op log, unless that one leads the site
 * (it pushes the operations) or the message comes from an older process that sent ranges only.
 */
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { LoginLimiter } from '../accounts/login-limiter.js';
import { LiveFeed, type LiveMessage } from '../http/live-feed.js';
import type { Op, OpBody } from '../oplog/op.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { SiteBus, SiteListener, SiteMessage } from '../storage/metadata/site-bus.js';
import { connectSite, type Site } from './site.js';
import type { SiteLead } from './site-lead.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const ops: Op[] = [
  { origin: 'n1', seq: 1, hlc: '1', body: { kind: 'picture.update', id: A, title: 't' } },
  {
    origin: 'n1',
    seq: 2,
    hlc: '2',
    body: { kind: 'user.put', username: 'u' } as unknown as OpBody,
  },
  { origin: 'n1', seq: 3, hlc: '3', body: { kind: 'picture.delete', id: B } },
];

/** Buses of one site in this process: what one publishes, the others hear. */
function linkedBuses(count: number): SiteBus[] {
  const listeners = Array.from({ length: count }, () => new Set<SiteListener>());
  return listeners.map((mine, i) => ({
    publish: (message: SiteMessage) => {
      listeners.forEach((theirs, j) => {
        if (j !== i) for (const l of theirs) l(message);
      });
      return Promise.resolve();
    },
    subscribe: (listener: SiteListener) => {
      mine.add(listener);
      return () => mine.delete(listener);
    },
    close: () => Promise.resolve(),
  }));
}

function process(bus: SiteBus, leads: boolean) {
  const reads: string[] = [];
  const oplog = {
    range: (origin: string, afterSeq: number, limit: number) => {
      reads.push(`${origin}:${afterSeq}+${limit}`);
      return Promise.resolve(ops.filter((o) => o.seq > afterSeq && o.seq <= afterSeq + limit));
    },
  } as unknown as OpLogRepository;
  const lead = { leads: () => leads } as SiteLead;
  const site: Site = { store: {} as MetadataStore, shared: true, bus, lead };
  const live = new LiveFeed();
  const heard: LiveMessage[] = [];
  live.subscribe((m) => heard.push(m));
  const access = { changes: 0 };
  live.onAccessChange(() => access.changes++);
  const pushed: Op[][] = [];
  const teller = connectSite(site, {
    oplog,
    live,
    loginLimiter: new LoginLimiter(),
    log: pino({ level: 'silent' }),
    onLeaderOps: (batch) => pushed.push([...batch]),
  });
  return { teller, heard, reads, pushed, access };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('connectSite', () => {
  test('a commit reaches the live feed of every other process; only the leader reads the ops', async () => {
    const [b1, b2, b3] = linkedBuses(3) as [SiteBus, SiteBus, SiteBus];
    const committing = process(b1, false);
    const follower = process(b2, false);
    const leader = process(b3, true);
    committing.teller.committed(ops);
    await settled();
    for (const other of [follower, leader]) {
      expect(other.heard).toEqual([{ type: 'pictures', ids: [A, B] }]);
    }
    expect(follower.reads).toEqual([]);
    expect(follower.pushed).toEqual([]);
    expect(leader.reads).toEqual(['n1:0+3']);
    expect(leader.pushed).toEqual([ops]);
    expect(committing.heard).toEqual([]);
  });

  test('ranges from an older process (no picture ids) are read for the live feed', async () => {
    const [old, b2] = linkedBuses(2) as [SiteBus, SiteBus];
    const follower = process(b2, false);
    await old.publish({ ops: [{ origin: 'n1', from: 1, to: 3 }] });
    await settled();
    expect(follower.reads).toEqual(['n1:0+3']);
    expect(follower.heard).toEqual([{ type: 'pictures', ids: [A, B] }]);
    expect(follower.pushed).toEqual([]);
  });

  test("operations that may take access away make every other process's streams check their callers", async () => {
    const [b1, b2] = linkedBuses(2) as [SiteBus, SiteBus];
    const committing = process(b1, false);
    const follower = process(b2, false);
    committing.teller.committed(ops.filter((o) => o.body.kind !== 'user.put'));
    await settled();
    expect(follower.access.changes).toBe(0);
    committing.teller.committed(ops); // a user.put among them
    await settled();
    expect(follower.access.changes).toBe(1);
    expect(follower.reads).toEqual([]);
  });
});
