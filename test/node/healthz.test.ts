/**
 * /healthz asks the database and the object store: a node on a real OpenStack Swift (s3api)
 * answers 200 naming both parts, and 503 naming the object store once Swift is stopped; a node
 * on a real PostgreSQL (--database) shows its pool and its lease in /metrics, and answers 503
 * naming the database once PostgreSQL is stopped.
 */
import { afterAll, expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  startNode,
  waitFor,
  type Api,
  type ApiResponse,
} from '../helpers/node-process.js';
import { startPostgres } from '../helpers/postgres.js';
import { startSwift } from '../helpers/swift.js';

afterAll(async () => {
  await cleanup();
});

interface Health {
  status: 'ok' | 'unavailable';
  checks: { database?: { ok: boolean; ms: number }; blobs?: { ok: boolean; ms: number } };
  error?: { code: string; message: string };
}

/** The first 503 of /healthz (what it names comes within its probe timeout). */
async function unhealthy(client: Api): Promise<ApiResponse<Health>> {
  return waitFor(
    async () => {
      const res = await client.get<Health>('/healthz');
      return res.status === 503 ? res : false;
    },
    { timeoutMs: 15_000, intervalMs: 200, what: '/healthz to answer 503' },
  );
}

test('/healthz answers 503 naming the object store when it stops answering', async () => {
  const swift = await startSwift();
  let stopped = false;
  const node = await startNode({
    args: ['--blobs', `s3://mosaic-health?endpoint=${swift.endpoint}&region=${swift.region}`],
    env: { AWS_ACCESS_KEY_ID: swift.accessKeyId, AWS_SECRET_ACCESS_KEY: swift.secretAccessKey },
  });
  try {
    const anonymous = api(node.url);
    const up = await anonymous.get<Health>('/healthz');
    expect(up.status).toBe(200);
    expect(up.body.status).toBe('ok');
    expect(up.body.checks.database?.ok).toBe(true);
    expect(up.body.checks.blobs?.ok).toBe(true);

    await swift.stop();
    stopped = true;
    const down = await unhealthy(anonymous);
    expect(down.body).toMatchObject({
      status: 'unavailable',
      checks: { database: { ok: true }, blobs: { ok: false } },
      error: { code: 'unavailable', message: 'Not answering: blobs' },
    });
    // Within the probe timeout (2 s), whatever the store does.
    expect(down.body.checks.blobs?.ms).toBeLessThanOrEqual(2100);
  } finally {
    await node.stop();
    if (!stopped) await swift.stop();
  }
});

test('/healthz answers 503 naming the database when PostgreSQL stops; /metrics has pool and lease', async () => {
  const pg = await startPostgres();
  let stopped = false;
  const node = await startNode({ args: ['--database', await pg.createDatabase()] });
  try {
    const anonymous = api(node.url);
    const up = await anonymous.get<Health>('/healthz');
    expect(up.status).toBe(200);
    expect(up.body.checks).toMatchObject({ database: { ok: true }, blobs: { ok: true } });

    const admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const metrics = await waitFor(
      async () => {
        const res = await admin.get<string>('/metrics');
        return /^mosaic_lease_held\{lease="site-lead"\} 1$/m.test(res.body) ? res.body : false;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'the one process to hold the site lease' },
    );
    expect(metrics).toMatch(/^mosaic_db_pool_connections [1-9]\d*$/m);
    expect(metrics).toMatch(/^mosaic_db_pool_idle \d+$/m);
    // Sampled while the scrape's own queries run: some may be waiting for a connection.
    expect(metrics).toMatch(/^mosaic_db_pool_waiting \d+$/m);
    expect(metrics).toMatch(/^mosaic_lease_token\{lease="site-lead"\} [1-9]\d*$/m);

    // The process stays up without its database (idle pooled connections die: a regression
    // once ended the process through an unhandled 'error' on the site bus's pool).
    await pg.stop();
    stopped = true;
    const down = await unhealthy(anonymous);
    expect(down.body).toMatchObject({
      status: 'unavailable',
      checks: { database: { ok: false }, blobs: { ok: true } },
      error: { code: 'unavailable', message: 'Not answering: database' },
    });
  } finally {
    await node.kill();
    if (!stopped) await pg.stop();
  }
});
