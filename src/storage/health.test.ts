import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerStorageMetrics } from '../http/metrics.js';
import { healthCheck } from './health.js';

describe('healthCheck', () => {
  it('is ok when every part answers, and says how long each took', async () => {
    const report = await healthCheck({
      database: async () => undefined,
      blobs: async () => undefined,
    }).check();
    expect(report.ok).toBe(true);
    expect(report.parts.database?.ok).toBe(true);
    expect(report.parts.blobs?.ok).toBe(true);
  });

  it('names the part that failed and why', async () => {
    const report = await healthCheck({
      database: async () => undefined,
      blobs: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
          code: 'ECONNREFUSED',
        });
      },
    }).check();
    expect(report.ok).toBe(false);
    expect(report.parts.database?.ok).toBe(true);
    expect(report.parts.blobs).toMatchObject({ ok: false, error: /ECONNREFUSED/ });
  });

  it('gives up on a part that does not answer within the timeout, and aborts its probe', async () => {
    let aborted = false;
    const started = performance.now();
    const report = await healthCheck(
      {
        database: (signal) =>
          new Promise<void>(() => {
            signal.addEventListener('abort', () => (aborted = true));
          }),
      },
      { timeoutMs: 100 },
    ).check();
    const took = performance.now() - started;
    expect(report.parts.database).toMatchObject({ ok: false, error: 'no answer within 100 ms' });
    expect(aborted).toBe(true);
    expect(took).toBeGreaterThanOrEqual(95);
    expect(took).toBeLessThan(1000);
  });

  it('probes at most once per cache period, however many ask', async () => {
    let probes = 0;
    let now = 0;
    const check = healthCheck(
      {
        database: async () => {
          probes++;
          await new Promise((resolve) => setTimeout(resolve, 10));
        },
      },
      { cacheMs: 1000, now: () => now },
    );
    await Promise.all([check.check(), check.check(), check.check()]);
    expect(probes).toBe(1);
    now = 999;
    await check.check();
    expect(probes).toBe(1);
    now = 1011;
    await check.check();
    expect(probes).toBe(2);
  });
});

describe('registerStorageMetrics', () => {
  it('exports the pool figures and, per lease, whether this process holds it', async () => {
    const registry = new Registry();
    registerStorageMetrics(registry, {
      pool: () => ({ total: 7, idle: 5, waiting: 2 }),
      leases: () => [
        { name: 'replication', token: 4 },
        { name: 'jobs', token: null },
      ],
    });
    const text = await registry.metrics();
    expect(text).toMatch(/^mosaic_db_pool_connections 7$/m);
    expect(text).toMatch(/^mosaic_db_pool_idle 5$/m);
    expect(text).toMatch(/^mosaic_db_pool_waiting 2$/m);
    expect(text).toMatch(/^mosaic_lease_held\{lease="replication"\} 1$/m);
    expect(text).toMatch(/^mosaic_lease_held\{lease="jobs"\} 0$/m);
    expect(text).toMatch(/^mosaic_lease_token\{lease="replication"\} 4$/m);
  });

  it('has no pool gauges without a pool (SQLite)', async () => {
    const registry = new Registry();
    registerStorageMetrics(registry, { leases: () => [] });
    expect(await registry.metrics()).not.toMatch(/mosaic_db_pool/);
  });
});
