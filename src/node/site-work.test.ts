/**
 * The once-per-site work: a byte check that meets an outage when the lead is taken runs again
 * until it goes through, and stops being retried once the process no longer leads.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { BlobStore } from '../blobs/blob-store.js';
import { UnavailableError } from '../core/errors.js';
import type { BlobSync } from '../replication/blob-sync.js';
import { siteWork } from './site-work.js';

function work(repairBytes: () => Promise<void>) {
  return siteWork({
    repairBytes,
    byteCheckRetryMs: 10,
    replicator: null,
    blobSync: { scanMissing: async () => undefined } as unknown as BlobSync,
    blobs: { sweepTrash: async () => [] } as unknown as BlobStore,
    retentionMs: 1000,
    onSwept: async () => undefined,
    sweepMore: async () => undefined,
    log: pino({ level: 'silent' }),
    config: { peers: [], clusterKey: undefined, discovery: 'off', discoveryPort: 0, host: '' },
    nodeId: 'n',
    selfUrl: () => null,
    httpPort: () => 0,
  });
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('the byte check of a process that takes the lead', () => {
  it('runs again after an outage until it goes through', async () => {
    let calls = 0;
    const site = work(async () => {
      calls++;
      if (calls < 3) throw new UnavailableError('The object store is not answering.');
    });
    await site.lead();
    await until(() => calls >= 3);
    expect(calls).toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(3); // done: not run again
    await site.follow();
  });

  it('is not retried once the process follows', async () => {
    let calls = 0;
    const site = work(async () => {
      calls++;
      throw new UnavailableError('The object store is not answering.');
    });
    await site.lead();
    await site.follow();
    const after = calls;
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(after);
  });
});
