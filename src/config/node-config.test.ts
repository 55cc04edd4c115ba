import { describe, expect, test } from 'vitest';
import { resolveNodeConfig } from './node-config.js';

const base = { dataDir: '/tmp/x' };

describe('--trust-proxy and --metrics-token', () => {
  test('trust-proxy: off by default; on, off or addresses become Fastify trustProxy', () => {
    expect(resolveNodeConfig(base, {}).trustProxy).toBe(false);
    expect(resolveNodeConfig({ ...base, trustProxy: 'on' }, {}).trustProxy).toBe(true);
    expect(resolveNodeConfig({ ...base, trustProxy: 'off' }, {}).trustProxy).toBe(false);
    expect(resolveNodeConfig(base, { MOSAIC_TRUST_PROXY: '10.0.0.0/8, ::1' }).trustProxy).toBe(
      '10.0.0.0/8, ::1',
    );
    expect(() => resolveNodeConfig({ ...base, trustProxy: 'yes please' }, {})).toThrow(
      /trustProxy/,
    );
  });

  test('metrics token: from the flag or MOSAIC_METRICS_TOKEN, at least 16 characters', () => {
    expect(resolveNodeConfig(base, {}).metricsToken).toBeUndefined();
    const token = 'a-long-enough-token';
    expect(resolveNodeConfig(base, { MOSAIC_METRICS_TOKEN: token }).metricsToken).toBe(token);
    expect(() => resolveNodeConfig({ ...base, metricsToken: 'short' }, {})).toThrow(/metricsToken/);
  });
});
