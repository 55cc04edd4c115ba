/**
 * The once-per-site lease across real processes: a `node` child holds it with the default
 * TTL (3 s), is killed with SIGKILL, and this process, trying all along, takes it over within
 * TTL + TTL/3 = 4 s with the next fencing token. On both engines. Needs `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { DEFAULT_LEASE_TTL_MS, LeaseKeeper } from '../../src/storage/metadata/lease-keeper.js';
import { LeaseRepository } from '../../src/storage/metadata/lease.repository.js';
import { describeEachDialect } from '../helpers/dialects.js';
import { REPO_ROOT } from '../helpers/node-process.js';

const DIST = join(REPO_ROOT, 'dist/src/storage/metadata');
const HOLDER = `
import { openMetadataStore } from '${join(DIST, 'store.js')}';
import { LeaseRepository } from '${join(DIST, 'lease.repository.js')}';
import { LeaseKeeper } from '${join(DIST, 'lease-keeper.js')}';
const store = await openMetadataStore(process.env.STORE_URL);
const keeper = new LeaseKeeper(new LeaseRepository(store.db, store.dialect), {
  name: 'replication',
  onAcquired: (token) => console.log('acquired ' + token),
});
keeper.start();
setInterval(() => {}, 1000);
`;

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

/** Starts a holder process on `url` and resolves once it holds the lease (its token). */
function startHolder(url: string): Promise<{ child: ChildProcess; token: number }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', HOLDER], {
    env: { ...process.env, STORE_URL: url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      reject(new Error(`holder exited with ${code}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^acquired (\d+)$/.exec(line);
      if (match) resolve({ child, token: Number(match[1]) });
    });
  });
}

describeEachDialect('lease across processes', (ctx) => {
  it('moves from a SIGKILLed holder to a standby within 4 s, with the next token', async () => {
    const url = await ctx.newStoreUrl();
    const store = await ctx.open(url);
    const { child, token } = await startHolder(url);
    expect(token).toBe(1);
    let acquiredAt = 0;
    const standby = new LeaseKeeper(new LeaseRepository(store.db, store.dialect), {
      name: 'replication',
      onAcquired: () => (acquiredAt = performance.now()),
    });
    standby.start();
    try {
      // Three renewals of the holder go by without the standby getting in.
      const until = performance.now() + DEFAULT_LEASE_TTL_MS;
      while (performance.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(standby.heldToken()).toBeNull();

      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const killedAt = performance.now();
      while (standby.heldToken() === null && performance.now() - killedAt < 10_000) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(standby.heldToken()).toBe(2);
      const takeover = acquiredAt - killedAt;
      console.log(`[${ctx.dialect}] takeover after SIGKILL: ${Math.round(takeover)} ms`);
      expect(takeover).toBeLessThan(DEFAULT_LEASE_TTL_MS + DEFAULT_LEASE_TTL_MS / 3 + 500);
    } finally {
      await standby.stop();
    }
  });
});
