/**
 * /healthz asks the database and the object store: a node on a real OpenStack Swift (s3api)
 * answers 200 naming both parts, and 503 naming the object store once Swift is stopped.
 */
import { afterAll, expect, test } from 'vitest';
import { api, cleanup, startNode, waitFor } from '../helpers/node-process.js';
import { startSwift } from '../helpers/swift.js';

afterAll(async () => {
  await cleanup();
});

interface Health {
  status: 'ok' | 'unavailable';
  checks: { database?: { ok: boolean; ms: number }; blobs?: { ok: boolean; ms: number } };
  error?: { code: string; message: string };
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
    const down = await waitFor(
      async () => {
        const res = await anonymous.get<Health>('/healthz');
        return res.status === 503 ? res : false;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: '/healthz to answer 503' },
    );
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
