import { describe, expect, test } from 'vitest';
import type { Peer } from '../api/types';
import { SILENT_MS, peerShown } from './peer-status';

const NOW = Date.parse('2026-12-07T10:00:00Z');

function peer(over: Partial<Peer>): Peer {
  return {
    id: 'n2-id',
    name: 'n2',
    url: 'http://127.0.0.1:7402',
    state: 'up',
    lastSeen: new Date(NOW - 2000).toISOString(),
    error: null,
    lag: { ops: 0, bytes: 0 },
    ...over,
  };
}

describe('peerShown', () => {
  test('a peer up and heard from lately is up, with nothing to say', () => {
    expect(peerShown(peer({}), NOW)).toEqual({ label: 'up', tone: 'up', note: null, detail: null });
  });

  test('a peer the link still calls up but not heard from for a while is not answering', () => {
    // A frozen peer: the node's exchange waits for its time limit and the link says "up".
    const shown = peerShown(
      peer({ lastSeen: new Date(NOW - SILENT_MS - 5000).toISOString() }),
      NOW,
    );
    expect(shown.tone).toBe('silent');
    expect(shown.label).toBe('not answering');
    expect(shown.note).toBe(
      'Not heard from since 25 s ago. What is added meanwhile reaches it when it answers again.',
    );
  });

  test('a peer down says so in a sentence; the technical error is kept apart as a detail', () => {
    const error = 'POST http://127.0.0.1:7402/peer/hello: Headers Timeout Error';
    const shown = peerShown(
      peer({ state: 'down', error, lastSeen: new Date(NOW - 90_000).toISOString() }),
      NOW,
    );
    expect(shown).toEqual({
      label: 'down',
      tone: 'down',
      note: 'Not answering; last heard from 1 min ago. What is added meanwhile reaches it when it answers again.',
      detail: error,
    });
    expect(peerShown(peer({ state: 'down', lastSeen: null }), NOW).note).toMatch(
      /^Not reached since this node started\./,
    );
  });

  test('a peer not reached yet is neither up nor down', () => {
    const shown = peerShown(peer({ state: 'unknown', lastSeen: null }), NOW);
    expect(shown.tone).toBe('unknown');
    expect(shown.label).toBe('not reached yet');
  });
});
