/**
 * A large folder transfer whose connection is cut by a partition: no error reaches either side
 * (a dropped link, a peer that lost power: the packets vanish), so the request would wait for its
 * two-minute timeout, holding the folder's pull meanwhile. Once the receiver's link finds the
 * peer down, the transfer is given up (PeerClient.abortAll), and after the heal it resumes from
 * what arrived, at once. Two real nodes; n2 reaches n1 through a TCP proxy in this test that can
 * freeze its connections (they stay open, nothing passes) and refuse new ones, then heal (new
 * connections pass again; the frozen ones stay dead, as after a real partition).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, rename, stat, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, expect, it } from 'vitest';
import { freePort, newClusterKey } from '../helpers/cluster.js';
import { cleanup, makeTempDir, startNode, waitFor } from '../helpers/node-process.js';

const SIZE = 24 * 1024 * 1024;

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
  await cleanup();
});

/** A TCP proxy to `port` on 127.0.0.1 that can cut its links without telling either side. */
class Partition {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private cut = false;

  constructor(to: number) {
    this.server = createServer((client) => {
      if (this.cut) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: '127.0.0.1', port: to });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  /** Every open connection stops passing bytes (and stays open); new ones are refused. */
  freeze(): void {
    this.cut = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** New connections pass again; the frozen ones stay as they are. */
  heal(): void {
    this.cut = false;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash.digest('hex');
}

it('gives up a transfer cut by a partition and resumes it right after the heal', async () => {
  const key = newClusterKey();
  const [port1, port2, proxyPort] = [await freePort(), await freePort(), await freePort()];
  const proxy = new Partition(port1);
  await proxy.listen(proxyPort);
  closers.push(() => proxy.close());
  const dirs = [await makeTempDir('mosaic-cut-n1-'), await makeTempDir('mosaic-cut-n2-')];
  const [root1, root2] = [join(dirs[0] ?? '', 'folder'), join(dirs[1] ?? '', 'folder')];
  await mkdir(root1, { recursive: true });
  await mkdir(root2, { recursive: true });
  const faults1 = join(dirs[0] ?? '', 'faults.json');
  // n1 serves at ~3 MB/s: the transfer is under way when the link is cut.
  await writeFile(faults1, JSON.stringify({ throttleBlobKBps: 3_000 }));
  const common = ['--cluster-key', key, '--sync-interval-ms', '500', '--discovery', 'off'];
  // A node's arguments: its port and name, the peer it calls, its folder `big`.
  const args = (port: number, name: string, peerPort: number, root: string): string[] => [
    ...['--port', String(port), '--name', name],
    ...['--peer', `http://127.0.0.1:${peerPort}`, '--folder', `big=${root}`],
    ...common,
  ];
  await startNode({
    dataDir: join(dirs[0] ?? '', 'data'),
    env: { MOSAIC_FAULTS: `@${faults1}` },
    args: args(port1, 'n1', port2, root1),
  });
  const n2 = await startNode({
    dataDir: join(dirs[1] ?? '', 'data'),
    args: args(port2, 'n2', proxyPort, root2),
  });

  // Written elsewhere and renamed into the folder: a file created empty and then written is
  // seen by a scan meanwhile, and its empty first version reached n2 before the whole one
  // (CI131: big.bin at n2 with 0 bytes right after the heal).
  const source = join(root1, 'big.bin');
  const staged = join(dirs[0] ?? '', 'big.bin');
  const handle = await open(staged, 'w');
  await handle.write(randomBytes(SIZE));
  await handle.close();
  await rename(staged, source);
  const hash = await sha256(source);
  const partial = join(root2, '.mosaic', 'tmp', `${hash}.part`);
  await waitFor(async () => ((await stat(partial).catch(() => null))?.size ?? 0) > 2e6, {
    timeoutMs: 60_000,
    what: 'n2 to have received 2 MB of the file',
  });

  proxy.freeze();
  // n2's link finds n1 down (its hellos get no answer, or are refused), and gives up what it
  // had sent to it: the transfer fails now, not in two minutes.
  await n2.waitForLog((line) => line.msg === 'peer down', 30_000);
  proxy.heal();
  await writeFile(faults1, JSON.stringify({}));
  const healed = performance.now();
  const target = join(root2, 'big.bin');
  await waitFor(async () => existsSync(target) && (await stat(target)).size === SIZE, {
    timeoutMs: 30_000,
    what: 'big.bin at n2 after the heal',
  });
  expect(performance.now() - healed).toBeLessThan(30_000);
  expect((await stat(target)).size).toBe(SIZE);
  expect(await sha256(target)).toBe(hash);
}, 150_000);
