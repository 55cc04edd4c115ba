import { describe, expect, it } from 'vitest';
import { mergeMembers, type KnownPeer } from './known-peers.js';

const b: KnownPeer = { id: 'node-b', name: 'b', url: 'http://b:7000' };
const c: KnownPeer = { id: 'node-c', name: 'c', url: 'http://c:7000' };

describe('mergeMembers', () => {
  it('counts the peers table while the links are not up yet (a lead just taken)', () => {
    expect(mergeMembers([], [b, c])).toEqual([b, c]);
  });

  it('lists a site once, whether a link, the table or both know it', () => {
    const bElsewhere = { ...b, url: 'http://b2:7000' };
    expect(mergeMembers([bElsewhere], [b, c])).toEqual([bElsewhere, c]);
  });

  it('prefers an entry with a name to a link that has not said its own', () => {
    const unnamed = { ...b, name: null };
    expect(mergeMembers([unnamed], [b])).toEqual([b]);
  });

  it('keeps an unidentified link unknown, unless the table knows its URL', () => {
    const fresh = { id: null, name: null, url: 'http://d:7000' };
    const configuredB = { id: null, name: null, url: b.url };
    expect(mergeMembers([fresh, configuredB], [b])).toEqual([b, fresh]);
  });
});
