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
      /--trust-proxy/,
    );
  });

  test('metrics token: from the flag or MOSAIC_METRICS_TOKEN, at least 16 characters', () => {
    expect(resolveNodeConfig(base, {}).metricsToken).toBeUndefined();
    const token = 'a-long-enough-token';
    expect(resolveNodeConfig(base, { MOSAIC_METRICS_TOKEN: token }).metricsToken).toBe(token);
    expect(() => resolveNodeConfig({ ...base, metricsToken: 'short' }, {})).toThrow(
      /--metrics-token/,
    );
  });
});

describe('the problems of a configuration, said with its flags and variables', () => {
  test.each([
    [{}, {}, '--data is required (or MOSAIC_DATA).'],
    [{ dataDir: '' }, {}, '--data is required (or MOSAIC_DATA).'],
    [{ ...base, port: 'abc' }, {}, '--port is a number from 0 to 65535.'],
    [{ ...base, port: '70000' }, {}, '--port is a number from 0 to 65535.'],
    [base, { MOSAIC_PORT: 'x' }, 'MOSAIC_PORT is a number from 0 to 65535.'],
    [
      { ...base, syncIntervalMs: '5' },
      {},
      '--sync-interval-ms is a whole number of milliseconds, at least 50.',
    ],
    [
      { ...base, clusterKey: 'short' },
      {},
      '--cluster-key: A cluster key has at least 16 characters (mosaic cluster generates one).',
    ],
  ])('%j %j', (flags, env, message) => {
    expect(() => resolveNodeConfig(flags, env)).toThrow(new Error(message));
  });
});
