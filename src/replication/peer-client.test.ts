/**
 * PeerClient.abortAll: the requests under way to a peer found down are given up at once, whether
 * they wait for the answer's head or for the rest of its body. Before, a request sent just before
 * a partition waited for its timeout (two minutes for content) or for TCP to get through after
 * the heal, and the folder pull or blob fetch behind it could not turn to another peer. The peer
 * is a real HTTP server on 127.0.0.1 that answers hello, then answers nothing more.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { Faults } from '../faults/faults.js';
import { Agent } from '../http/undici-client.js';
import { answerText, PeerClient } from './peer-client.js';

const HASH = 'c'.repeat(64);
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A peer that answers hello, then holds every other request: no head, or a head and no body. */
async function silentPeer(): Promise<{ client: PeerClient; held: () => number }> {
  const open: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/peer/hello') {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            nodeId: 'b'.repeat(16),
            name: 'peer-b',
            url: null,
            version: 'test',
            vv: {},
            pendingBlobBytes: 0,
          }),
        );
        return;
      }
      // Batches get their head and nothing after it; single contents not even the head.
      if (req.url?.endsWith('/contents')) res.writeHead(200).flushHeaders();
      open.push(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new Agent();
  cleanups.push(async () => {
    for (const res of open) res.destroy();
    await agent.close();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  const client = new PeerClient(`http://127.0.0.1:${port}`, {
    key: 'k'.repeat(32),
    self: { nodeId: 'a'.repeat(16), name: 'self-a', url: null },
    agent,
    faults: Faults.none(),
  });
  await client.hello();
  return { client, held: () => open.length };
}

it('gives up a request still waiting for its answer', async () => {
  const { client, held } = await silentPeer();
  const fetch = client.folderContent('docs', HASH, 0);
  const failed = expect(fetch).rejects.toThrow(/peer down/);
  await expect.poll(held).toBe(1);
  client.abortAll('peer down');
  await failed;
});

it('gives up an answer whose body is being read', async () => {
  const { client, held } = await silentPeer();
  const reading = (async () => {
    const frames = [];
    for await (const frame of client.folderContents('docs', [{ hash: HASH, size: 10 }])) {
      frames.push(frame);
    }
    return frames;
  })();
  const failed = expect(reading).rejects.toThrow(/peer down/);
  await expect.poll(held).toBe(1);
  client.abortAll('peer down');
  await failed;
});

it('forgets the requests that ended (nothing to give up afterwards)', async () => {
  const { client } = await silentPeer();
  // Answered and read: a later abortAll must not reach into the next request's way.
  await client.hello();
  client.abortAll('peer down');
  await expect(client.hello()).resolves.toMatchObject({ name: 'peer-b' });
});

it("shows a peer's error answer by its message, other bodies as they came", () => {
  const refused = JSON.stringify({
    error: {
      code: 'unauthorized',
      message: "Peer request refused: the sender's clock is 10 min ahead.",
    },
  });
  expect(answerText(refused)).toBe("Peer request refused: the sender's clock is 10 min ahead.");
  expect(answerText('<html>Bad gateway</html>')).toBe('<html>Bad gateway</html>');
  expect(answerText('x'.repeat(500))).toHaveLength(200);
  expect(answerText(JSON.stringify({ error: 'plain' }))).toBe('{"error":"plain"}');
  expect(answerText('null')).toBe('null');
});
