/**
 * A node on S3 for the tests of test/node/s3-node.test.ts and s3-tus.test.ts: a node started
 * with --blobs s3://… on the test Swift (swift.ts), and a proxy in front of the store that notes,
 * holds or drops its requests.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startNode, type NodeProcess } from './node-process.js';
import type { SwiftServer } from './swift.js';

/**
 * A pass-through HTTP proxy to the store that notes each request's method and path; while
 * `hang` is set it takes requests and never answers (a store frozen, or cut off by a partition
 * that leaves its sockets open); while `down` is set it drops each connection at once (a store
 * that crashed). `downAt` crashes it at the first request it matches (`method url`, the query
 * included): that request and all after it are dropped.
 */
export async function countingProxy(target: string): Promise<{
  url: string;
  seen: string[];
  hang: boolean;
  down: boolean;
  downAt: RegExp | undefined;
  close: () => Promise<void>;
}> {
  const to = new URL(target);
  const seen: string[] = [];
  const state = { hang: false, down: false, downAt: undefined as RegExp | undefined };
  const server = createServer((req, res) => {
    if (state.downAt?.test(`${req.method ?? '?'} ${req.url ?? ''}`)) state.down = true;
    if (state.down) {
      req.socket.destroy();
      return;
    }
    if (state.hang) return;
    seen.push(`${req.method ?? '?'} ${decodeURIComponent((req.url ?? '').split('?')[0] ?? '')}`);
    // Headers (Host included, which the signature covers) pass unchanged.
    const upstream = httpRequest(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    get hang() {
      return state.hang;
    },
    set hang(value: boolean) {
      state.hang = value;
    },
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    get downAt() {
      return state.downAt;
    },
    set downAt(value: RegExp | undefined) {
      state.downAt = value;
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

/** A node whose blobs are at `s3://<target>` (bucket, prefix, query) on `swift`. */
export function startS3Node(swift: SwiftServer, target: string): Promise<NodeProcess> {
  return startNode({
    args: ['--blobs', `s3://${target}`],
    env: { AWS_ACCESS_KEY_ID: swift.accessKeyId, AWS_SECRET_ACCESS_KEY: swift.secretAccessKey },
  });
}
