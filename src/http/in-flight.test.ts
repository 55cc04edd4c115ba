import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { InFlight } from './in-flight.js';

/** A request whose caller is let in while `allowed.value`, counting its checks and cuts. */
function request(allowed = { value: true }, expiresAt?: number) {
  const seen = { checks: 0, cuts: 0 };
  return {
    seen,
    allowed,
    tracked: {
      check: async () => {
        seen.checks++;
        return allowed.value;
      },
      cut: () => {
        seen.cuts++;
      },
      expiresAt,
    },
  };
}

const EVERY_MS = 25_000;

describe('InFlight', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("cuts every request of a refused caller, checked once; other callers' go on", async () => {
    const inFlight = new InFlight({ everyMs: EVERY_MS });
    const bob = { value: true };
    const [b1, b2, ann] = [request(bob), request(bob), request()];
    inFlight.track('bob', b1.tracked);
    inFlight.track('bob', b2.tracked);
    inFlight.track('ann', ann.tracked);

    await inFlight.recheck();
    expect([b1.seen.cuts, b2.seen.cuts, ann.seen.cuts]).toEqual([0, 0, 0]);

    bob.value = false;
    await inFlight.recheck();
    expect(b1.seen.checks + b2.seen.checks).toBe(2); // one check a round per credential
    expect([b1.seen.cuts, b2.seen.cuts, ann.seen.cuts]).toEqual([1, 1, 0]);
    expect(inFlight.size).toBe(1);
    await inFlight.recheck();
    expect(b1.seen.cuts + b2.seen.cuts).toBe(2); // once only
  });

  test('a request released is neither checked nor cut', async () => {
    const inFlight = new InFlight({ everyMs: EVERY_MS });
    const gone = request({ value: false });
    inFlight.track('bob', gone.tracked)();
    await inFlight.recheck();
    expect(gone.seen).toEqual({ checks: 0, cuts: 0 });
    expect(inFlight.size).toBe(0);
  });

  test('asked again during a round, it checks once more after it', async () => {
    const inFlight = new InFlight({ everyMs: EVERY_MS });
    const bob = { value: true };
    let release: () => void = () => undefined;
    const slow = request(bob);
    inFlight.track('bob', {
      ...slow.tracked,
      // The first check reads the database before the change that refuses bob commits.
      check: () =>
        slow.seen.checks++ === 0
          ? new Promise<boolean>((resolve) => {
              release = () => {
                resolve(true);
              };
            })
          : Promise.resolve(bob.value),
    });
    const first = inFlight.recheck();
    bob.value = false;
    const second = inFlight.recheck();
    release();
    await Promise.all([first, second]);
    expect(slow.seen).toEqual({ checks: 2, cuts: 1 });
  });

  test('a check that fails is reported and tried again; still failing past the grace, it cuts', async () => {
    const errors: boolean[] = [];
    const inFlight = new InFlight({
      everyMs: EVERY_MS,
      failGraceMs: 2 * EVERY_MS,
      onCheckError: (_, cut) => errors.push(cut),
    });
    const down = { value: true };
    const broken = request();
    const check = () => (down.value ? Promise.reject(new Error('db down')) : Promise.resolve(true));
    inFlight.track('bob', { ...broken.tracked, check });
    // A blip: failing at two rounds, answering at the third; nothing cut, the count starts over.
    await inFlight.recheck();
    await vi.advanceTimersByTimeAsync(EVERY_MS);
    expect(broken.seen.cuts).toBe(0);
    down.value = false;
    await vi.advanceTimersByTimeAsync(EVERY_MS);
    expect(broken.seen.cuts).toBe(0);
    // Down for good: cut once its checks have failed for the grace.
    down.value = true;
    await vi.advanceTimersByTimeAsync(EVERY_MS);
    await vi.advanceTimersByTimeAsync(EVERY_MS);
    expect(broken.seen.cuts).toBe(0);
    await vi.advanceTimersByTimeAsync(EVERY_MS);
    expect(broken.seen.cuts).toBe(1);
    expect(errors).toEqual([false, false, false, false, true]);
  });

  test("cuts a token's requests at its expiry, unchecked, however far away it is", async () => {
    const inFlight = new InFlight({ everyMs: EVERY_MS });
    const soon = request({ value: true }, Date.now() + 5_000);
    const far = request({ value: true }, Date.now() + 30 * 24 * 3600 * 1000); // past setTimeout's range
    inFlight.track('soon', soon.tracked);
    inFlight.track('far', far.tracked);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(soon.seen.cuts).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(soon.seen.cuts).toBe(1);
    await vi.advanceTimersByTimeAsync(30 * 24 * 3600 * 1000 - 5_001);
    expect(far.seen.cuts).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(far.seen.cuts).toBe(1);
  });

  test('checks by itself every everyMs while requests are in flight, and not after', async () => {
    const inFlight = new InFlight({ everyMs: EVERY_MS });
    const bob = request();
    const release = inFlight.track('bob', bob.tracked);
    await vi.advanceTimersByTimeAsync(2 * EVERY_MS);
    expect(bob.seen.checks).toBe(2);
    release();
    expect(vi.getTimerCount()).toBe(0);

    const ann = request({ value: true });
    inFlight.track('ann', ann.tracked);
    ann.allowed.value = false; // signed out: no operation says so
    await vi.advanceTimersByTimeAsync(EVERY_MS);
    expect(ann.seen.cuts).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('close stops its timers', () => {
    const inFlight = new InFlight({ everyMs: EVERY_MS });
    inFlight.track('bob', request({ value: true }, Date.now() + 5_000).tracked);
    expect(vi.getTimerCount()).toBe(2);
    inFlight.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
