import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CONNECT_GRACE_MS, firstLoad } from './first-load';
import { createLiveFeed } from './live';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** What loaded, in order. */
function loads() {
  const done: string[] = [];
  return { done, load: (what: string) => () => done.push(what) };
}

describe('the first load', () => {
  test('a feed live or offline: at once, once', () => {
    for (const state of ['live', 'offline'] as const) {
      const { done, load } = loads();
      const gate = firstLoad();
      gate.begin(state, load('first'));
      expect(done).toEqual(['first']);
      gate.changed(state);
      vi.advanceTimersByTime(CONNECT_GRACE_MS);
      expect(done).toEqual(['first']);
    }
  });

  test('a connecting feed that connects: left to its onConnected, not loaded again', () => {
    const { done, load } = loads();
    const gate = firstLoad();
    gate.begin('connecting', load('first'));
    vi.advanceTimersByTime(CONNECT_GRACE_MS - 1);
    expect(done).toEqual([]);
    gate.connected();
    gate.changed('live');
    vi.advanceTimersByTime(CONNECT_GRACE_MS);
    expect(done).toEqual([]);
  });

  test('a connecting feed that does not connect: after the grace, once', () => {
    const { done, load } = loads();
    const gate = firstLoad();
    gate.begin('connecting', load('first'));
    vi.advanceTimersByTime(CONNECT_GRACE_MS - 1);
    expect(done).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(done).toEqual(['first']);
    // It connects at last: the page's onConnected loads; the gate has nothing more to do.
    gate.connected();
    gate.changed('live');
    vi.advanceTimersByTime(CONNECT_GRACE_MS);
    expect(done).toEqual(['first']);
  });

  test('a connecting feed that fails, or was live unheard: at once', () => {
    for (const state of ['offline', 'live'] as const) {
      const { done, load } = loads();
      const gate = firstLoad();
      gate.begin('connecting', load('first'));
      gate.changed(state);
      expect(done).toEqual(['first']);
      vi.advanceTimersByTime(CONNECT_GRACE_MS);
      expect(done).toEqual(['first']);
    }
  });

  test('begun again while waiting: only the latest load; ended: none', () => {
    const { done, load } = loads();
    const gate = firstLoad();
    gate.begin('connecting', load('old filter'));
    vi.advanceTimersByTime(CONNECT_GRACE_MS - 1);
    gate.begin('connecting', load('new filter'));
    vi.advanceTimersByTime(CONNECT_GRACE_MS - 1);
    expect(done).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(done).toEqual(['new filter']);
    gate.begin('connecting', load('unmounted'));
    gate.end();
    gate.changed('offline');
    vi.advanceTimersByTime(CONNECT_GRACE_MS);
    expect(done).toEqual(['new filter']);
  });
});

/** Just enough of EventSource to open it. */
class FakeSource {
  static last: FakeSource | null = null;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor() {
    FakeSource.last = this;
  }
  addEventListener() {
    // no events in these tests
  }
  close() {
    // nothing to close
  }
}

describe('the first load with the live feed, wired as useFirstLoad wires it', () => {
  /** A page: subscribed, then its first load begun; every load is counted. */
  function page(feed: ReturnType<typeof createLiveFeed>) {
    const done: string[] = [];
    const gate = firstLoad();
    feed.subscribe({
      onConnected: () => {
        gate.connected();
        done.push('on connected');
      },
    });
    feed.watch(() => {
      gate.changed(feed.state());
    });
    gate.begin(feed.state(), () => done.push('first'));
    return done;
  }

  test('opened by its link: one load, by the connecting; each reconnection one more', () => {
    vi.stubGlobal('EventSource', FakeSource);
    const feed = createLiveFeed();
    feed.start();
    const done = page(feed);
    FakeSource.last?.onopen?.();
    vi.advanceTimersByTime(CONNECT_GRACE_MS);
    expect(done).toEqual(['on connected']);
    FakeSource.last?.onerror?.();
    FakeSource.last?.onopen?.();
    expect(done).toEqual(['on connected', 'on connected']);
    feed.stop();
  });

  test('opened while the feed is live (not told it connected): one load, at once', () => {
    vi.stubGlobal('EventSource', FakeSource);
    const feed = createLiveFeed();
    feed.start();
    FakeSource.last?.onopen?.();
    const done = page(feed);
    vi.advanceTimersByTime(CONNECT_GRACE_MS);
    expect(done).toEqual(['first']);
    feed.stop();
  });

  test('the feed fails first: one load at once, another when it connects', () => {
    vi.stubGlobal('EventSource', FakeSource);
    const feed = createLiveFeed();
    feed.start();
    const done = page(feed);
    FakeSource.last?.onerror?.();
    expect(done).toEqual(['first']);
    FakeSource.last?.onopen?.();
    vi.advanceTimersByTime(CONNECT_GRACE_MS);
    expect(done).toEqual(['first', 'on connected']);
    feed.stop();
  });
});
