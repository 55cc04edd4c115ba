/**
 * Issue 12, row 2: a device id belongs to one account at every node. Mallory, allowed on the
 * same folder as Alice, sees Alice's device id in her feed, then tries to register that id at
 * *another* node and push operation 2 as that device. Before the fix the node accepted both
 * (it only knew its own `devices` table) and Alice's real operation 2 was silently dropped as a
 * duplicate everywhere. Now the registration is refused, the push is refused, and Alice's
 * operation 2 reaches every node.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HybridClock } from '../../src/core/hlc.js';
import { deviceIdFor } from '../../src/devices/core/device-id.js';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { createToken } from '../helpers/device-process.js';
import { addUser, api, cleanup, makeTempDir, waitFor, type Api } from '../helpers/node-process.js';

const FOLDER = 'shared';
const ALICE_NONCE = 'a1'.repeat(16);
const MALLORY_NONCE = 'b2'.repeat(16);
const ALICE_DEVICE = deviceIdFor('alice', ALICE_NONCE);
const MALLORY_DEVICE = deviceIdFor('mallory', MALLORY_NONCE);

let cluster: TestCluster;
let roots: string[];

beforeAll(async () => {
  roots = [];
  for (let i = 0; i < 2; i++) {
    const root = join(await makeTempDir(`mosaic-attack-dev-n${i + 1}-`), FOLDER);
    await mkdir(root);
    roots.push(root);
  }
  cluster = new TestCluster({
    syncIntervalMs: 300,
    folders: roots,
    extraArgs: ['--folder-user', `${FOLDER}=alice`, '--folder-user', `${FOLDER}=mallory`],
  });
  await cluster.startAll(2);
});

afterAll(async () => {
  await cleanup();
});

/** A device's own `file.put` of a directory (no content to upload). */
function dirOp(clock: HybridClock, device: string, seq: number, path: string) {
  return {
    origin: device,
    seq,
    hlc: clock.next(),
    body: {
      kind: 'file.put',
      folder: FOLDER,
      path,
      entry: 'dir',
      deleted: false,
      hash: null,
      size: 0,
      mtimeMs: Date.now(),
      vv: { [device]: seq },
      originName: 'phone',
    },
  };
}

async function register(client: Api, device: string, nonce?: string) {
  return client.post<{ acked: number }>(`/api/folders/${FOLDER}/devices`, {
    deviceId: device,
    name: 'phone',
    ...(nonce === undefined ? {} : { nonce }),
  });
}

describe('device identity across the cluster (issue 12, row 2)', () => {
  it("refuses another account's device id at another node; the real op 2 reaches every node", async () => {
    const [n1, n2] = cluster.nodes as [ClusterNode, ClusterNode];
    await addUser(n1.node.dataDir, 'alice', 'alice-password-1');
    await addUser(n1.node.dataDir, 'mallory', 'mallory-password-1');
    // Accounts replicate; sign in at a node once they are there (slowly: failures are limited).
    const token = (url: string, user: string, password: string) =>
      waitFor(() => createToken(url, user, password).catch(() => undefined), {
        timeoutMs: 20_000,
        intervalMs: 400,
        what: `${user} at ${url}`,
      });
    const alice1 = api(n1.node.url, {
      token: await token(n1.node.url, 'alice', 'alice-password-1'),
    });
    const mallory1 = api(n1.node.url, {
      token: await token(n1.node.url, 'mallory', 'mallory-password-1'),
    });
    const mallory2 = api(n2.node.url, {
      token: await token(n2.node.url, 'mallory', 'mallory-password-1'),
    });

    // The worst case for a race: n2 cannot hear from n1, so it knows nothing of Alice's device.
    await cluster.partition([n1], [n2]);

    // Alice's device registers at n1 and pushes its operation 1.
    const aliceClock = new HybridClock(ALICE_DEVICE);
    expect((await register(alice1, ALICE_DEVICE, ALICE_NONCE)).status).toBe(200);
    const push1 = await alice1.post<{ acked: number }>(
      `/api/folders/${FOLDER}/devices/${ALICE_DEVICE}/ops`,
      { ops: [dirOp(aliceClock, ALICE_DEVICE, 1, 'real-1')] },
    );
    expect(push1.status).toBe(200);

    // Mallory's own device at n1 reads the feed and learns Alice's device id.
    expect((await register(mallory1, MALLORY_DEVICE, MALLORY_NONCE)).status).toBe(200);
    const page = await mallory1.post<{ ops: { origin: string }[] }>(
      `/api/folders/${FOLDER}/devices/${MALLORY_DEVICE}/pull`,
      { cursor: {}, limit: 100 },
    );
    expect(page.body.ops.some((op) => op.origin === ALICE_DEVICE)).toBe(true);

    // The attack, at n2: register Alice's device id (with no nonce, or with any nonce: none
    // derives that id from "mallory") and push operation 2 as that device.
    expect((await register(mallory2, ALICE_DEVICE)).status).toBe(409);
    expect((await register(mallory2, ALICE_DEVICE, ALICE_NONCE)).status).toBe(409);
    expect((await register(mallory2, ALICE_DEVICE, MALLORY_NONCE)).status).toBe(409);
    const malloryClock = new HybridClock(ALICE_DEVICE);
    const forged = await mallory2.post(`/api/folders/${FOLDER}/devices/${ALICE_DEVICE}/ops`, {
      ops: [dirOp(malloryClock, ALICE_DEVICE, 2, 'forged-2')],
    });
    expect(forged.status).toBe(403);

    await cluster.heal();
    // Once n2 knows the owner, the id is refused there as another account's.
    await waitFor(
      async () => {
        const res = await register(mallory2, ALICE_DEVICE);
        return res.status === 409 && /another account/.test(JSON.stringify(res.body));
      },
      { timeoutMs: 20_000, intervalMs: 200, what: "n2 to learn Alice's device" },
    );

    // Alice's real operation 2 is accepted and reaches both nodes' folders.
    const push2 = await alice1.post<{ acked: number }>(
      `/api/folders/${FOLDER}/devices/${ALICE_DEVICE}/ops`,
      { ops: [dirOp(aliceClock, ALICE_DEVICE, 2, 'real-2')] },
    );
    expect(push2.status).toBe(200);
    expect(push2.body.acked).toBe(2);
    for (const root of roots) {
      await waitFor(() => existsSync(join(root, 'real-2')), {
        timeoutMs: 20_000,
        what: `real-2 in ${root}`,
      });
      expect(existsSync(join(root, 'forged-2'))).toBe(false);
    }

    // Alice herself may use her device at n2 (the registration replicated).
    const alice2 = api(n2.node.url, {
      token: await token(n2.node.url, 'alice', 'alice-password-1'),
    });
    const again = await register(alice2, ALICE_DEVICE, ALICE_NONCE);
    expect(again.status).toBe(200);
    expect(again.body.acked).toBe(2);
  });
});
