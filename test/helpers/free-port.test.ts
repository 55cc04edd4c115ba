/**
 * The port helper every multi-process test and bench uses: two nodes told the same port made one
 * fail to listen while the other peered with itself (a bench run, 2026-12-06).
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from './free-port.js';

describe('freePort', () => {
  it('never gives one process the same port twice, and each is free to bind', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 300; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    const last = ports.at(-1) as number;
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(last, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
