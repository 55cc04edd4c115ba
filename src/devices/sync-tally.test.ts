import { describe, expect, it } from 'vitest';
import { SyncTally } from './sync-tally.js';

const t = (ops: number, files = 0, bytes = 0) => ({ ops, files, bytes });

describe("a device's summary lines", () => {
  it('say what moved since the last line, and nothing when nothing moved', () => {
    const tally = new SyncTally();
    expect(tally.next(t(3, 2, 100), t(0), false, false)).toEqual({
      sent: t(3, 2, 100),
      received: t(0),
      inSync: false,
    });
    expect(tally.next(t(3, 2, 100), t(0), false, false)).toBeNull();
    expect(tally.next(t(4, 2, 100), t(1, 1, 10), true, false)).toEqual({
      sent: t(1),
      received: t(1, 1, 10),
      inSync: true,
    });
  });

  it('report turning in sync once, and always when asked', () => {
    const tally = new SyncTally();
    expect(tally.next(t(0), t(0), true, false)).toEqual({
      sent: t(0),
      received: t(0),
      inSync: true,
    });
    expect(tally.next(t(0), t(0), true, false)).toBeNull();
    expect(tally.next(t(0), t(0), false, false)).toBeNull();
    expect(tally.next(t(0), t(0), false, true)).toEqual({
      sent: t(0),
      received: t(0),
      inSync: false,
    });
  });
});
