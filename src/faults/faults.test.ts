import { describe, expect, it } from 'vitest';
import { Faults } from './faults.js';

describe('MOSAIC_FAULTS blockPeers', () => {
  it('cuts a peer named by its name once a hello has said which id goes by it', () => {
    const faults = Faults.fromEnv({ MOSAIC_FAULTS: JSON.stringify({ blockPeers: ['n2'] }) });
    // What checks a request often has only the id that signed it (the peer guard).
    expect(faults.isBlocked('aaaaaaaaaaaaaaa2')).toBe(false);
    expect(faults.isBlocked('aaaaaaaaaaaaaaa2', 'n2')).toBe(true);
    faults.knowPeer('aaaaaaaaaaaaaaa2', 'n2');
    expect(faults.isBlocked('aaaaaaaaaaaaaaa2')).toBe(true);
    faults.knowPeer('aaaaaaaaaaaaaaa3', 'n3');
    expect(faults.isBlocked('aaaaaaaaaaaaaaa3')).toBe(false);
  });

  it('cuts nothing without MOSAIC_FAULTS', () => {
    const faults = Faults.fromEnv({});
    faults.knowPeer('aaaaaaaaaaaaaaa2', 'n2');
    expect(faults.isBlocked('aaaaaaaaaaaaaaa2', 'n2')).toBe(false);
  });
});
