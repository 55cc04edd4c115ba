import { expect, test } from 'vitest';
import { describeEachBackend } from '../helpers/backends.js';
import { TestCluster, waitConverged } from '../helpers/cluster.js';
import { makeImage, type Picture } from '../helpers/node-process.js';

describeEachBackend('probe', () => {
  test('two nodes', async () => {
    const cluster = new TestCluster({ syncIntervalMs: 500 });
    const t0 = Date.now();
    const n = await cluster.startAll(4);
    console.log('started in', Date.now() - t0);
    const [n1] = n;
    if (!n1) throw new Error('x');
    const t1 = Date.now();
    const res = await (await n1.api()).upload<Picture>({ file: await makeImage({ seed: 5 }), fields: { title: 'a' } });
    expect(res.status).toBe(201);
    console.log('uploaded in', Date.now() - t1);
    const t2 = Date.now();
    await waitConverged(n, { expect: (ps) => ps.length === 1 });
    console.log('converged in', Date.now() - t2);
    for (const x of n) console.log(x.name, x.node.logs.filter((l) => l.level !== 30 || /lead|peer|blob|fetch/.test(String(l.msg))).slice(0, 30).map((l) => `${String(l.time)} ${String(l.level)} ${String(l.msg)} ${l.err ? JSON.stringify(l.err).slice(0, 300) : ''}`).join('\n'));
  });
});
