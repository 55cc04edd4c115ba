import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { LIVE_SILENCE_MS, createLiveFeed } from './live';

/** A stand-in for the browser's EventSource: the test opens it and sends its events. */
class FakeSource {
  static all: FakeSource[] = [];
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  readonly listeners = new Map<string, ((message: { data: string }) => void)[]>();
  constructor(readonly url: string) {
    FakeSource.all.push(this);
  }
  addEventListener(type: string, listener: (message: { data: string }) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close() {
    this.closed = true;
  }
  send(type: string, ids: string[]) {
    for (const listener of this.listeners.get(type) ?? [])
      listener({ data: JSON.stringify({ ids }) });
  }
}

const open = () => FakeSource.all.filter((s) => !s.closed);

beforeEach(() => {
  FakeSource.all = [];
  vi.useFakeTimers();
  vi.stubGlobal('EventSource', FakeSource);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('the live feed', () => {
  test('one connection for every subscriber; bursts reach each once; stop closes it', () => {
    const feed = createLiveFeed();
    feed.start();
    feed.start();
    expect(FakeSource.all.map((s) => s.url)).toEqual(['/api/stream']);
    const heard: string[] = [];
    const stopA = feed.subscribe({ onPictures: (ids) => heard.push(`a ${ids.join(',')}`) });
    feed.subscribe({
      onPictures: (ids) => heard.push(`b ${ids.join(',')}`),
      onAlbums: (ids) => heard.push(`b albums ${ids.join(',')}`),
    });
    const source = FakeSource.all[0];
    source?.onopen?.();
    source?.send('pictures', ['p1']);
    source?.send('pictures', ['p2', 'p1']);
    source?.send('albums', ['x']);
    vi.advanceTimersByTime(150);
    expect(heard).toEqual(['a p1,p2', 'b p1,p2', 'b albums x']);
    stopA();
    source?.send('pictures', ['p3']);
    vi.advanceTimersByTime(150);
    expect(heard.at(-1)).toBe('b p3');
    expect(heard.filter((h) => h.startsWith('a'))).toHaveLength(1);
    feed.stop();
    expect(open()).toEqual([]);
  });

  test('onConnected: each (re)connection while subscribed, not the one before subscribing', () => {
    const feed = createLiveFeed();
    const states: string[] = [];
    feed.watch(() => states.push(feed.state()));
    feed.start();
    const early: number[] = [];
    feed.subscribe({ onConnected: () => early.push(1) });
    FakeSource.all[0]?.onopen?.();
    expect(early).toHaveLength(1);
    const late: number[] = [];
    feed.subscribe({ onConnected: () => late.push(1) });
    expect(late).toHaveLength(0);
    // EventSource's own retry after an error.
    FakeSource.all[0]?.onerror?.();
    FakeSource.all[0]?.onopen?.();
    expect({ early: early.length, late: late.length }).toEqual({ early: 2, late: 1 });
    expect(states).toEqual(['live', 'offline', 'live']);
  });

  test('silent too long: offline, and a fresh connection', () => {
    const feed = createLiveFeed();
    feed.start();
    FakeSource.all[0]?.onopen?.();
    vi.advanceTimersByTime(LIVE_SILENCE_MS - 1);
    FakeSource.all[0]?.listeners.get('ping')?.[0]?.({ data: '1' });
    vi.advanceTimersByTime(LIVE_SILENCE_MS - 1);
    expect(feed.state()).toBe('live');
    vi.advanceTimersByTime(1);
    expect(feed.state()).toBe('offline');
    expect(FakeSource.all).toHaveLength(2);
    expect(open()).toEqual([FakeSource.all[1]]);
  });
});
