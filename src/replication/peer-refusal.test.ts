/**
 * A peer that refuses this node's signature (401: the two were given different cluster keys)
 * is a setting to fix, not a blip: the link says so once, with what to do, and tries again
 * every REFUSED_RETRY_MS instead of about once a second (each try was a warning in the peer's
 * log too). A valid request from the peer ends the wait at once. Clocks too far apart are said
 * once as well, but retried as usual (NTP sets them right). The peer is a stand-in client.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Faults } from '../faults/faults.js';
import { PeerError, type PeerClient } from './peer-client.js';
import { PeerLink, REFUSED_RETRY_MS } from './peer-link.js';

const KEY_REFUSAL = 'POST /peer/hello answered 401: Peer request refused: bad signature.';
const CLOCK_REFUSAL = (s: number) =>
  `POST /peer/hello answered 401: Peer request refused: timestamp outside the replay window: the sender's clock is ${s} s ahead of the receiver's.`;

function refusingPeer(message: () => string): { client: PeerClient; hellos: () => number } {
  let hellos = 0;
  const client = {
    hello: () => {
      hellos++;
      return Promise.reject(new PeerError(message(), 401));
    },
    abortAll: () => undefined,
  };
  return { client: client as unknown as PeerClient, hellos: () => hellos };
}

function linkTo(client: PeerClient, lines: Record<string, unknown>[]): PeerLink {
  const log = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  // Never reached: every hello is refused before the link pulls, pushes or records.
  const unused = {} as never;
  return new PeerLink('http://127.0.0.1:1', 'static', client, {
    selfId: 'aaaaaaaaaaaaaaaa',
    oplog: unused,
    changes: unused,
    peers: unused,
    faults: Faults.none(),
    log,
    identified: () => true,
    cameUp: () => undefined,
    maxRetryMs: 1000,
  });
}

/** Lets the link's promise chains run (fake timers do not run them). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('a peer that refuses this node', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with another cluster key: said once, tried again every REFUSED_RETRY_MS, at once when it reaches us', async () => {
    const lines: Record<string, unknown>[] = [];
    const peer = refusingPeer(() => KEY_REFUSAL);
    const link = linkTo(peer.client, lines);
    link.kick({ hello: true });
    await settle();
    expect(peer.hellos()).toBe(1);
    expect(link.state).toBe('down');
    // The replicator's cycle kicks every few seconds: nothing is sent meanwhile.
    for (let t = 2500; t < REFUSED_RETRY_MS; t += 2500) {
      link.kick({ hello: true, pull: true, push: true });
      await vi.advanceTimersByTimeAsync(2500);
      await settle();
    }
    expect(peer.hellos()).toBe(1);
    await vi.advanceTimersByTimeAsync(2600);
    await settle();
    expect(peer.hellos()).toBe(2);
    const warnings = lines.filter((l) => String(l['msg']).startsWith('peer refuses'));
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.['hint'])).toContain('--cluster-key');
    expect(link.lastError).toBe(KEY_REFUSAL);
    // A valid request from the peer: its key was fixed; tried now, not in 30 s.
    link.heardFrom();
    await settle();
    expect(peer.hellos()).toBe(3);
    link.closed = true;
    await link.idle();
  });

  it('with its clock too far from ours: said once, retried as usual', async () => {
    const lines: Record<string, unknown>[] = [];
    let offset = 61;
    const peer = refusingPeer(() => CLOCK_REFUSAL(offset++));
    const link = linkTo(peer.client, lines);
    link.kick({ hello: true });
    await settle();
    await vi.advanceTimersByTimeAsync(5000);
    await settle();
    expect(peer.hellos()).toBeGreaterThan(4);
    const warnings = lines.filter((l) => String(l['msg']).startsWith('peer refuses'));
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.['hint'])).toContain('NTP');
    link.closed = true;
    await link.idle();
  });
});
