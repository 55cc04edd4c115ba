import { describe, expect, it } from 'vitest';
import { configuredPeers, mergeMembers, type KnownPeer } from './known-peers.js';

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

  it('lists an unidentified URL once, from a link and the configuration alike', () => {
    const d = { id: null, name: null, url: 'http://d:7000' };
    expect(mergeMembers([d, { ...d }], [])).toEqual([d]);
  });

  it('keeps an unidentified link unknown, unless the table knows its URL', () => {
    const fresh = { id: null, name: null, url: 'http://d:7000' };
    const configuredB = { id: null, name: null, url: b.url };
    expect(mergeMembers([fresh, configuredB], [b])).toEqual([b, fresh]);
  });
});

describe('configuredPeers', () => {
  it('gives each --peer as an unidentified member, by origin, until the table names it', () => {
    const configured = configuredPeers(['http://b:7000/', 'http://c:7000', 'not a url'], null);
    expect(configured).toEqual([
      { id: null, name: null, url: 'http://b:7000' },
      { id: null, name: null, url: 'http://c:7000' },
    ]);
    // The table knows b (the leader reached it), not c yet: c keeps the creation waiting.
    expect(mergeMembers(configured, [b])).toEqual([b, configured[1]]);
  });

  it('leaves out the node itself (one list of every node, given to each)', () => {
    const list = ['http://a:7000', 'http://b:7000'];
    expect(configuredPeers(list, 'http://a:7000/')).toEqual([
      { id: null, name: null, url: 'http://b:7000' },
    ]);
  });
});
