/**
 * A transparent HTTP proxy in front of a node that records what peers exchange through it:
 * operations pulled (in `/peer/pull` answers), operations pushed (in `/peer/ops` bodies) and
 * blob fetches (`/peer/blobs…`). Peer signatures cover the method, path and body, not the host,
 * so requests pass unchanged. Used to show that a peer re-sends nothing.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PeerTraffic {
  pulls: number;
  pulledOps: number;
  pushedOps: number;
  blobRequests: number;
}

export interface RecordingProxy {
  readonly url: string;
  readonly traffic: PeerTraffic;
  /**
   * Answers the next `count` requests whose path starts with `prefix` itself, with a 500 in the
   * node's error shape (what a node whose transaction failed answers), without passing them on.
   * Returns how many were refused so far.
   */
  refuse(prefix: string, count: number): () => number;
  reset(): void;
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string, port = 0): Promise<RecordingProxy> {
  const to = new URL(target);
  const traffic: PeerTraffic = { pulls: 0, pulledOps: 0, pushedOps: 0, blobRequests: 0 };
  const refusals: { prefix: string; left: number; done: number }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '/';
      const refusal = refusals.find((r) => r.left > 0 && path.startsWith(r.prefix));
      if (refusal) {
        refusal.left--;
        refusal.done++;
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'internal', message: 'deadlock detected' } }));
        return;
      }
      if (path.startsWith('/peer/blobs')) traffic.blobRequests++;
      if (path.startsWith('/peer/ops')) traffic.pushedOps += countOps(body);
      const upstream = httpRequest(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path,
          headers: req.headers,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            const data = Buffer.concat(parts);
            if (path.startsWith('/peer/pull')) {
              traffic.pulls++;
              traffic.pulledOps += countOps(data);
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(data);
          });
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    traffic,
    refuse(prefix, count) {
      const refusal = { prefix, left: count, done: 0 };
      refusals.push(refusal);
      return () => refusal.done;
    },
    reset() {
      Object.assign(traffic, { pulls: 0, pulledOps: 0, pushedOps: 0, blobRequests: 0 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Operations in a JSON body `{ops: [...]}` (0 for anything else, e.g. a binary frame). */
function countOps(body: Buffer): number {
  try {
    const value = JSON.parse(body.toString('utf8')) as { ops?: unknown };
    return Array.isArray(value.ops) ? value.ops.length : 0;
  } catch {
    return 0;
  }
}
