/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the caller's server binds it right after),
 * never one this process was given before: the kernel may hand the same ephemeral port to two
 * binds in a row once the first is closed, and two nodes told the same port made a bench's
 * second node fail to listen while the first peered with itself (2026-12-06).
 */
import { createServer } from 'node:net';

const given = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await boundAndClosed();
    if (!given.has(port)) {
      given.add(port);
      return port;
    }
  }
}

function boundAndClosed(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}
