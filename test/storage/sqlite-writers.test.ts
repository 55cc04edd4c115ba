/**
 * Several processes writing one SQLite file through the metadata store (as `mosaic user add`
 * does next to a running node): each transaction holds the write lock across awaits, so it
 * must begin IMMEDIATE; with a deferred BEGIN two writers that both read first fail with
 * SQLITE_BUSY on their first write. Needs `npm run build` (the children run dist/).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openMetadataStore } from '../../src/storage/metadata/store.js';
import { cleanup, makeTempDir, REPO_ROOT } from '../helpers/node-process.js';

const SITE = 'site0001';
const OPS_PER_PROCESS = 100;

const WRITER = `
import { openMetadataStore } from '${join(REPO_ROOT, 'dist/src/storage/metadata/store.js')}';
import { OpClockRepository } from '${join(REPO_ROOT, 'dist/src/storage/metadata/op-clock.repository.js')}';
const store = await openMetadataStore(process.env.STORE_FILE);
const clock = new OpClockRepository(store.dialect);
for (let i = 0; i < ${OPS_PER_PROCESS}; i++) {
  await store.transaction(async (trx) => {
    const [stamp] = await clock.allocate(trx, '${SITE}', 1);
    await new Promise((resolve) => setImmediate(resolve));
    await trx.insertInto('ops')
      .values({ origin: '${SITE}', seq: stamp.seq, hlc: stamp.hlc, kind: 'test', body: '{}' })
      .execute();
  });
}
await store.close();
`;

function runWriter(file: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER], {
      env: { ...process.env, STORE_FILE: file },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      resolve({ code, stderr });
    });
  });
}

describe('one SQLite file, several writing processes', () => {
  afterAll(cleanup);

  it('two processes commit 200 ops: seqs 1..200 contiguous, HLCs increasing in seq order', async () => {
    const file = join(await makeTempDir(), 'node.db');
    await (await openMetadataStore(file)).close();
    const results = await Promise.all([runWriter(file), runWriter(file)]);
    expect(results).toEqual([
      { code: 0, stderr: '' },
      { code: 0, stderr: '' },
    ]);
    const store = await openMetadataStore(file);
    try {
      const ops = await store.db
        .selectFrom('ops')
        .select(['seq', 'hlc'])
        .where('origin', '=', SITE)
        .orderBy('seq')
        .execute();
      expect(ops.map((op) => op.seq)).toEqual(
        Array.from({ length: 2 * OPS_PER_PROCESS }, (_, i) => i + 1),
      );
      const hlcs = ops.map((op) => op.hlc);
      expect(hlcs.filter((hlc, i) => i > 0 && !(hlc > (hlcs[i - 1] ?? '')))).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
