import { describe, expect, test } from 'vitest';
import { formatCountdown, fractionLeft, remainingMs } from './countdown';

const deadline = '2026-01-01T12:00:00.000Z';
const at = (iso: string) => Date.parse(iso);

describe('remainingMs', () => {
  test('counts down to the deadline and stops at zero', () => {
    expect(remainingMs(deadline, at('2026-01-01T11:58:30.000Z'))).toBe(90_000);
    expect(remainingMs(deadline, at('2026-01-01T12:00:05.000Z'))).toBe(0);
  });

  test('no deadline, or a bad one: null', () => {
    expect(remainingMs(null, 0)).toBeNull();
    expect(remainingMs('not a date', 0)).toBeNull();
  });
});

describe('formatCountdown', () => {
  test.each([
    [90_000, '1:30'],
    [59_001, '1:00'],
    [9_000, '0:09'],
    [1, '0:01'],
    [0, '0:00'],
    [-5, '0:00'],
    [720_000, '12:00'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatCountdown(ms)).toBe(text);
  });
});

test('fractionLeft', () => {
  expect(fractionLeft(45_000, 90)).toBe(0.5);
  expect(fractionLeft(200_000, 90)).toBe(1);
  expect(fractionLeft(5, 0)).toBe(0);
});
