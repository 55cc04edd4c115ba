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

describe('PullStalls: when the next try comes', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const COPY = 'a.sync-conflict-20261204-182522-dev1-a491e7a8.txt';

  it('backs off to a minute, one try pending at most, and comes within `soonMs` when asked', () => {
    vi.useFakeTimers();
    let retries = 0;
    const s = new PullStalls('docs', pino({ level: 'silent' }), () => retries++);
    const stalledPull = (soonMs?: number) => {
      s.startPull();
      s.add(COPY, 'no peer has its content');
      s.retryLater(0, soonMs);
    };
    // Eight stalled pulls at once: one try, the earliest asked for (2 s), not eight timers.
    for (let i = 0; i < 8; i++) stalledPull();
    vi.advanceTimersByTime(2000);
    expect(retries).toBe(1);
    vi.advanceTimersByTime(120_000);
    expect(retries).toBe(1);
    // The ninth in a row: a minute away.
    stalledPull();
    vi.advanceTimersByTime(59_000);
    expect(retries).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(retries).toBe(2);
    // Copies on their way to retirement: soon.
    stalledPull(2000);
    vi.advanceTimersByTime(2000);
    expect(retries).toBe(3);
  });
});
