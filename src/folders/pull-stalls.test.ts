import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PullStalls } from './pull-stalls.js';

describe('PullStalls: the tag a device long-polls on', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function stalls(): { stalls: PullStalls; heard: string[] } {
    vi.useFakeTimers();
    const s = new PullStalls('docs', pino({ level: 'silent' }), () => undefined);
    const heard: string[] = [];
    s.onGrew(() => heard.push(s.tag()));
    return { stalls: s, heard };
  }

  function pull(s: PullStalls, paths: string[]): void {
    s.startPull();
    for (const path of paths) s.add(path, 'no peer has its content');
    s.retryLater(0);
  }

  it('changes when a pull leaves behind a path the pull before had not', () => {
    const { stalls: s, heard } = stalls();
    const start = s.tag();
    pull(s, ['a.txt']);
    expect(s.tag()).not.toBe(start);
    expect(heard).toEqual([s.tag()]);
    pull(s, ['a.txt', 'b.txt']);
    expect(heard).toHaveLength(2);
  });

  it('stays when the same paths, fewer or none are left behind', () => {
    const { stalls: s, heard } = stalls();
    pull(s, ['a.txt', 'b.txt']);
    const tag = s.tag();
    pull(s, ['b.txt', 'a.txt']);
    pull(s, ['a.txt']);
    pull(s, []);
    expect(s.tag()).toBe(tag);
    expect(heard).toHaveLength(1);
    // ... and a path that comes back after a pull without it is news again.
    pull(s, ['a.txt']);
    expect(heard).toHaveLength(2);
  });

  it('stays for a path left behind by a race with a local change (the content was here)', () => {
    const { stalls: s, heard } = stalls();
    s.startPull();
    s.add('raced.txt', 'saved here while being replaced; rescanning it', false);
    s.retryLater(0);
    expect(heard).toEqual([]);
    expect(s.paths()).toEqual(['raced.txt']);
    expect(s.wantingContent()).toEqual([]);
    // The same path stalled next for want of its content is news.
    pull(s, ['raced.txt']);
    expect(heard).toHaveLength(1);
    expect(s.wantingContent()).toEqual(['raced.txt']);
  });

  it('stops telling a listener that unsubscribed', () => {
    const { stalls: s } = stalls();
    const calls: number[] = [];
    const off = s.onGrew(() => calls.push(1));
    pull(s, ['a.txt']);
    off();
    pull(s, ['a.txt', 'b.txt']);
    expect(calls).toHaveLength(1);
  });
});
