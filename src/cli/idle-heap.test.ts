import { describe, expect, test } from 'vitest';
import { shouldCompact, type HeapState } from './idle-heap.js';

const MB = 1024 * 1024;
const idleWithSlack: HeapState = {
  utilization: 0.001,
  totalBytes: 33 * MB,
  usedBytes: 25 * MB,
  sinceLastMs: Number.POSITIVE_INFINITY,
};

describe('shouldCompact', () => {
  test('an idle node whose heap holds spare pages gives them back', () => {
    expect(shouldCompact(idleWithSlack)).toBe(true);
  });

  test('never while the event loop is busy (a sync, a catch-up, requests)', () => {
    expect(shouldCompact({ ...idleWithSlack, utilization: 0.3 })).toBe(false);
    expect(shouldCompact({ ...idleWithSlack, utilization: 0.1 })).toBe(false);
  });

  test('not for a heap already close to what it uses', () => {
    expect(shouldCompact({ ...idleWithSlack, totalBytes: 27 * MB })).toBe(false);
  });

  test('at most once a minute', () => {
    expect(shouldCompact({ ...idleWithSlack, sinceLastMs: 10_000 })).toBe(false);
    expect(shouldCompact({ ...idleWithSlack, sinceLastMs: 60_000 })).toBe(true);
  });
});
